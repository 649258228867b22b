package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/auth"
	"github.com/lathe-ci/lathe/dispatch"
	"github.com/lathe-ci/lathe/store"
)

// need is what a route asks of its caller. guard checks it before the
// handler reads a body or touches data.
type need int

const (
	// public routes read no credential (register checks its own, a
	// registration token; login checks a password).
	public need = iota
	// anyone may call; a credential, if sent, must be valid, and lists
	// narrow to the projects the caller may read.
	anyone
	// authenticated needs a user's token or session.
	authenticated
	// projectRead, projectWrite and projectOwner need that role on the
	// project the path names: {project} directly, or the project owning the
	// {run}, {stage}, {job} or {attempt}. Admins hold every role; anyone
	// reads a public project.
	projectRead
	projectWrite
	projectOwner
	// adminOnly needs a global admin (with a token of admin scope).
	adminOnly
	// agentAuth needs an agent credential.
	agentAuth
)

var needNames = map[need]string{public: "public", anyone: "anyone", authenticated: "authenticated",
	projectRead: "projectRead", projectWrite: "projectWrite", projectOwner: "projectOwner",
	adminOnly: "admin", agentAuth: "agentAuth"}

func (n need) String() string { return needNames[n] }

// role is the project role a project-level need asks for.
func (n need) role() lathe.Role {
	switch n {
	case projectRead:
		return lathe.RoleRead
	case projectWrite:
		return lathe.RoleWrite
	case projectOwner:
		return lathe.RoleOwner
	}
	return lathe.RoleNone
}

// projectParams are the path parameters guard resolves to an owning
// project, in the order it looks for them.
var projectParams = []string{"project", "run", "stage", "job", "attempt", "artifact", "test_case"}

// projectParam returns the path parameter a project-level route's pattern
// resolves its project from.
func projectParam(pattern string) (string, bool) {
	for _, p := range projectParams {
		if strings.Contains(pattern, "{"+p+"}") {
			return p, true
		}
	}
	return "", false
}

// SessionCookie is the cookie a browser login carries.
const SessionCookie = "lathe_session"

// Principal is the authenticated caller.
type Principal struct {
	// User is the calling user's name; "" for anonymous callers and agents.
	User   string
	UserID int64
	// Admin is true when the user is an admin and the credential has the
	// admin scope.
	Admin bool
	// Token is the user's token or session.
	Token *lathe.APIToken
	// Agent is set for agent credentials.
	Agent *lathe.Agent
	// Project is the project a project-level route resolved, and Role the
	// caller's role on it.
	Project *lathe.Project
	Role    lathe.Role
}

// viewer narrows lists to what p may read (nil: everything, for admins).
func (p *Principal) viewer() *store.Viewer {
	if p.Admin {
		return nil
	}
	return &store.Viewer{UserID: p.UserID}
}

// actor is the principal as the dispatch service takes it.
func (p *Principal) actor() dispatch.Actor {
	return dispatch.Actor{UserID: p.UserID, User: p.User, Admin: p.Admin, Agent: p.Agent, Project: p.Project, Role: p.Role}
}

// as binds a dispatch action on a run or job to the request's actor.
func as(r *http.Request, act func(context.Context, dispatch.Actor, int64) error) func(context.Context, int64) error {
	a := principal(r.Context()).actor()
	return func(ctx context.Context, id int64) error { return act(ctx, a, id) }
}

// principal is the caller the guard admitted (an empty Principal on a
// public route).
func principal(ctx context.Context) *Principal {
	if st, _ := ctx.Value(stateKey{}).(*requestState); st != nil && st.principal != nil {
		return st.principal
	}
	return &Principal{}
}

// credential returns the bearer token, or the session cookie for user
// routes (fromCookie then true).
func credential(r *http.Request, cookie bool) (token string, fromCookie bool) {
	scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if token = strings.TrimSpace(token); strings.EqualFold(scheme, "Bearer") && token != "" {
		return token, false
	}
	if cookie {
		if c, err := r.Cookie(SessionCookie); err == nil {
			return c.Value, true
		}
	}
	return "", false
}

// unauthorized is a 401 asking for a bearer token.
func unauthorized(w http.ResponseWriter, format string, args ...any) error {
	w.Header().Set("WWW-Authenticate", `Bearer realm="lathe"`)
	return problemf(http.StatusUnauthorized, format, args...)
}

func forbidden(format string, args ...any) error {
	return problemf(http.StatusForbidden, format, args...)
}

// needLogin is the 401 of a caller who sent no credential.
func needLogin(w http.ResponseWriter) error {
	return unauthorized(w, "missing bearer token: send Authorization: Bearer <token>, or log in for a session cookie")
}

// guard checks the caller against the route's need before the handler
// sees the request: a route refuses callers it does not admit before it
// reads a body or a parameter other than the one naming the project.
func (s *Server) guard(rt Route) handler {
	switch rt.Needs {
	case public:
		return rt.Handler
	case agentAuth:
		return func(w http.ResponseWriter, r *http.Request) error { return s.guardAgent(rt, w, r) }
	}
	param, _ := projectParam(rt.Pattern)
	return func(w http.ResponseWriter, r *http.Request) error {
		p := newPrincipal(r)
		if token, fromCookie := credential(r, true); token != "" {
			if fromCookie {
				if err := checkCSRF(r); err != nil {
					return err
				}
			}
			if err := s.authenticateUser(w, r, token, p); err != nil {
				return err
			}
			if err := allowScope(r, rt.Needs, p); err != nil {
				return err
			}
		}
		switch rt.Needs {
		case authenticated, adminOnly:
			if p.User == "" {
				return needLogin(w)
			}
			if rt.Needs == adminOnly && !p.Admin {
				return forbidden("needs admin: %s is not an admin (or the token lacks the admin scope)", p.User)
			}
		case projectRead, projectWrite, projectOwner:
			if err := s.allowProject(w, r, rt.Needs, param, p); err != nil {
				return err
			}
		}
		return rt.Handler(w, withPrincipal(r, p))
	}
}

// guardAgent admits agent credentials only.
func (s *Server) guardAgent(rt Route, w http.ResponseWriter, r *http.Request) error {
	token, _ := credential(r, false)
	if token == "" {
		return unauthorized(w, "missing agent credential: send Authorization: Bearer <agent token>")
	}
	hash := auth.Hash(token)
	a, err := s.store.AgentByToken(r.Context(), hash)
	if err != nil {
		if !errors.Is(err, lathe.ErrNotFound) {
			return err
		}
		if _, _, uerr := s.store.Authenticate(r.Context(), hash); uerr == nil {
			return forbidden("needs an agent credential: user tokens cannot call the agent protocol")
		}
		return unauthorized(w, "unknown agent credential")
	}
	p := newPrincipal(r)
	p.Agent = a
	if st := stateOf(r); st != nil {
		st.agentToken = hash // for reloadAgent
	}
	return rt.Handler(w, withPrincipal(r, p))
}

// authenticateUser fills p from a user's token or session, or refuses with
// 401 (403 for an agent's credential, which is valid but of the wrong kind).
func (s *Server) authenticateUser(w http.ResponseWriter, r *http.Request, token string, p *Principal) error {
	k, u, err := s.store.Authenticate(r.Context(), auth.Hash(token))
	if err != nil {
		if !errors.Is(err, lathe.ErrUnauthorized) {
			return err
		}
		if strings.HasPrefix(token, auth.PrefixAgent) {
			if _, aerr := s.store.AgentByToken(r.Context(), auth.Hash(token)); aerr == nil {
				return forbidden("agent credentials can call only the agent protocol (/api/v1/agent/…)")
			}
		}
		if err := s.failedToken(w, r); err != nil {
			return err
		}
		return unauthorized(w, "%v", trimSentinel(err, lathe.ErrUnauthorized))
	}
	p.User, p.UserID, p.Token = u.Name, u.ID, k
	p.Admin = u.Admin && k.MaxScope() == lathe.ScopeAdmin
	return nil
}

// trimSentinel drops the ": unauthorized" a sentinel adds to a message.
func trimSentinel(err, sentinel error) string {
	return strings.TrimSuffix(err.Error(), ": "+sentinel.Error())
}

// allowScope checks the credential's scopes: read for GET and HEAD, write
// for other methods, admin for admin routes.
func allowScope(r *http.Request, n need, p *Principal) error {
	want := lathe.ScopeWrite
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		want = lathe.ScopeRead
	}
	if n == adminOnly {
		want = lathe.ScopeAdmin
	}
	if p.Token.MaxScope().Rank() < want.Rank() {
		return forbidden("needs a token with the %s scope; this one has %v", want, p.Token.Scopes)
	}
	return nil
}

// projectOf is the project of a project route ({project}, or the owner of
// the {run}, {stage}, {job} or {attempt}), as the guard resolved it before
// checking the caller's role on it: handlers use it rather than reading it
// again.
func projectOf(r *http.Request) *lathe.Project { return principal(r.Context()).Project }

// allowProject resolves the route's project and checks the caller's role on it.
func (s *Server) allowProject(w http.ResponseWriter, r *http.Request, n need, param string, p *Principal) error {
	proj, err := s.resolveProject(r, param)
	if err != nil {
		if p.User == "" && (errors.Is(err, lathe.ErrNotFound)) {
			// Anonymous callers learn nothing about what exists.
			return needLogin(w)
		}
		return err
	}
	role, err := s.roleOn(r.Context(), p, proj)
	if err != nil {
		return err
	}
	p.Project, p.Role = proj, role
	if role.Rank() >= n.role().Rank() {
		return nil
	}
	switch {
	case p.User == "" && proj.Visibility != lathe.VisibilityPublic:
		// As for a project that does not exist: nothing tells them apart.
		return needLogin(w)
	case p.User == "":
		return unauthorized(w, "needs %s on project %s: log in or send a token", n.role(), proj.Name)
	}
	return forbidden("needs %s on project %s; %s has %s", n.role(), proj.Name, p.User, roleName(role))
}

// roleOn is the caller's role on proj: owner for admins, read at least on
// a public project.
func (s *Server) roleOn(ctx context.Context, p *Principal, proj *lathe.Project) (lathe.Role, error) {
	role := lathe.RoleNone
	switch {
	case p.Admin:
		role = lathe.RoleOwner
	case p.User != "":
		var err error
		if role, err = s.store.ProjectRole(ctx, p.UserID, proj.ID); err != nil {
			return role, err
		}
	}
	if proj.Visibility == lathe.VisibilityPublic && role.Rank() < lathe.RoleRead.Rank() {
		role = lathe.RoleRead
	}
	return role, nil
}

func roleName(r lathe.Role) string {
	if r == lathe.RoleNone {
		return "no role"
	}
	return string(r)
}

// resolveProject finds the project the path names, directly or as the owner
// of a run, stage, job or attempt.
func (s *Server) resolveProject(r *http.Request, param string) (*lathe.Project, error) {
	if param == "project" {
		return s.store.Project(r.Context(), r.PathValue("project"))
	}
	id, err := pathID(r, param)
	if err != nil {
		return nil, err
	}
	return s.store.OwningProject(r.Context(), param, id)
}

// checkRoutes reports routes whose need cannot be checked (a project-level
// route with no parameter naming a project).
func checkRoutes(routes []Route) error {
	for _, rt := range routes {
		if rt.Needs.role() != lathe.RoleNone {
			if _, ok := projectParam(rt.Pattern); !ok {
				return fmt.Errorf("route %s needs %s but its path names no project, run, stage, job or attempt", rt.Pattern, rt.Needs)
			}
		}
	}
	return nil
}
