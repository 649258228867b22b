// Package api is Lathe's HTTP interface: the REST API under /api/v1 for
// people and tools, and the agent protocol agents dial into. Handlers are
// thin: authorize, decode, call the store or the trigger service, encode.
// Every route is declared once in routes(), with the caller it admits; the
// OpenAPI document must describe each of them (a test checks).
package api

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/auth"
	"github.com/lathe-ci/lathe/secret"
	"github.com/lathe-ci/lathe/store"
	"github.com/lathe-ci/lathe/trigger"
)

// Server serves the API.
type Server struct {
	store   *store.Store
	trigger *trigger.Service
	log     *slog.Logger
	mux     *http.ServeMux
	// agentsNeedAuthorization registers new agents unauthorized (see RequireAgentAuthorization).
	agentsNeedAuthorization atomic.Bool
	// keys seal and open secrets (see SetKeyring); nil: secrets are off.
	keys   *secret.Keyring
	keyGen sync.Mutex // one project key generation at a time
}

// SetKeyring gives the server the keys that seal secrets. Call it before serving.
func (s *Server) SetKeyring(k *secret.Keyring) { s.keys = k }

// New returns a server over the store.
func New(st *store.Store, tr *trigger.Service, log *slog.Logger) *Server {
	if log == nil {
		log = slog.Default()
	}
	s := &Server{store: st, trigger: tr, log: log, mux: http.NewServeMux()}
	for _, r := range s.routes() {
		s.mux.Handle(r.Pattern, s.guard(r))
	}
	return s
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	r = r.WithContext(context.WithValue(r.Context(), loggerKey{}, s.log))
	h, pattern := s.mux.Handler(r)
	if pattern == "" {
		// No route: the mux answers 404, or 405 with an Allow header when
		// the path exists for other methods. Keep its status and headers,
		// but answer in problem+json like every other error.
		h.ServeHTTP(&unroutedWriter{ResponseWriter: w, r: r}, r)
		return
	}
	s.mux.ServeHTTP(w, r)
}

// unroutedWriter turns the mux's plain-text 404 and 405 into problem+json.
type unroutedWriter struct {
	http.ResponseWriter
	r     *http.Request
	wrote bool
}

func (u *unroutedWriter) WriteHeader(code int) {
	if u.wrote {
		return
	}
	u.wrote = true
	u.Header().Del("X-Content-Type-Options")
	msg := "no route for %s %s"
	if code == http.StatusMethodNotAllowed {
		msg = "%s is not allowed on %s; see the Allow header"
	}
	writeProblem(u.ResponseWriter, u.r, problemf(code, msg, u.r.Method, u.r.URL.Path))
}

func (u *unroutedWriter) Write(b []byte) (int, error) {
	if !u.wrote {
		u.WriteHeader(http.StatusNotFound)
	}
	return len(b), nil
}

type loggerKey struct{}

func slogFrom(r *http.Request) *slog.Logger {
	if l, ok := r.Context().Value(loggerKey{}).(*slog.Logger); ok {
		return l
	}
	return slog.Default()
}

// access is who may call a route.
type access int

const (
	public    access = iota // anyone, no credential
	userAuth                // a user or API token
	agentAuth               // an agent credential
)

// Route is one endpoint: its method-and-path pattern, who may call it, and its handler.
type Route struct {
	Pattern string
	Access  access
	Handler func(http.ResponseWriter, *http.Request)
}

func (s *Server) routes() []Route {
	return []Route{
		{"GET /healthz", public, s.healthz},
		{"GET /readyz", public, s.readyz},
		{"GET /api/v1/openapi.json", public, serveOpenAPI},

		{"GET /api/v1/projects", userAuth, s.listProjects},
		{"POST /api/v1/projects", userAuth, s.createProject},
		{"GET /api/v1/projects/{project}", userAuth, s.getProject},
		{"PATCH /api/v1/projects/{project}", userAuth, s.updateProject},
		{"DELETE /api/v1/projects/{project}", userAuth, s.deleteProject},
		{"GET /api/v1/projects/{project}/pipelines", userAuth, s.listPipelines},
		{"GET /api/v1/projects/{project}/pipelines/{pipeline}", userAuth, s.getPipeline},
		{"GET /api/v1/projects/{project}/config-errors", userAuth, s.listConfigErrors},
		{"GET /api/v1/projects/{project}/pipelines/{pipeline}/plan", userAuth, s.planPipeline},
		{"GET /api/v1/pipeline-schema", public, s.pipelineSchema},
		{"POST /api/v1/projects/{project}/runs", userAuth, s.triggerRun},
		{"GET /api/v1/projects/{project}/runs", userAuth, s.listProjectRuns},
		{"GET /api/v1/projects/{project}/semaphores", userAuth, s.listSemaphores},
		{"GET /api/v1/projects/{project}/semaphores/{name}", userAuth, s.getSemaphore},
		{"GET /api/v1/projects/{project}/holds", userAuth, s.listHolds},
		{"POST /api/v1/projects/{project}/holds", userAuth, s.createHold},
		{"GET /api/v1/projects/{project}/holds/{hold}", userAuth, s.getHold},
		{"DELETE /api/v1/projects/{project}/holds/{hold}", userAuth, s.deleteHold},

		{"GET /api/v1/runs", userAuth, s.listRuns},
		{"GET /api/v1/runs/{run}", userAuth, s.getRun},
		{"POST /api/v1/runs/{run}/cancel", userAuth, s.cancelRun},
		{"POST /api/v1/runs/{run}/rerun", userAuth, s.rerunRun},
		{"POST /api/v1/runs/{run}/rerun-failed", userAuth, s.rerunFailed},
		{"GET /api/v1/runs/{run}/events", userAuth, s.runEvents},
		{"GET /api/v1/runs/{run}/stages", userAuth, s.listStages},
		{"GET /api/v1/stages/{stage}", userAuth, s.getStage},

		{"GET /api/v1/jobs/{job}", userAuth, s.getJob},
		{"POST /api/v1/jobs/{job}/cancel", userAuth, s.cancelJob},
		{"POST /api/v1/jobs/{job}/rerun", userAuth, s.rerunJob},
		{"POST /api/v1/jobs/{job}/approve", userAuth, s.approveJob},
		{"POST /api/v1/jobs/{job}/reject", userAuth, s.rejectJob},
		{"GET /api/v1/jobs/{job}/log", userAuth, s.getLog},
		{"GET /api/v1/jobs/{job}/log/stream", userAuth, s.streamLog},

		{"GET /api/v1/agents", userAuth, s.listAgents},
		{"PATCH /api/v1/agents", userAuth, s.updateAgents},
		{"GET /api/v1/agents/{agent}", userAuth, s.getAgent},
		{"PATCH /api/v1/agents/{agent}", userAuth, s.updateAgent},
		{"DELETE /api/v1/agents/{agent}", userAuth, s.deleteAgent},
		{"GET /api/v1/agents/{agent}/attempts", userAuth, s.listAgentAttempts},

		{"GET /api/v1/agent-groups", userAuth, s.listGroups},
		{"POST /api/v1/agent-groups", userAuth, s.createGroup},
		{"GET /api/v1/agent-groups/{group}", userAuth, s.getGroup},
		{"PATCH /api/v1/agent-groups/{group}", userAuth, s.updateGroup},
		{"DELETE /api/v1/agent-groups/{group}", userAuth, s.deleteGroup},
		{"GET /api/v1/agent-groups/{group}/agents", userAuth, s.listGroupAgents},
		{"POST /api/v1/agent-groups/{group}/agents", userAuth, s.addGroupAgents},
		{"DELETE /api/v1/agent-groups/{group}/agents/{agent}", userAuth, s.removeGroupAgent},

		// Secrets: values go in, never out. Roles (issue 5, item 3) to
		// come: project owner to list and write a project's, admin for the
		// global ones; the key is readable by whoever may read the project.
		{"GET /api/v1/projects/{project}/secrets", userAuth, s.listSecrets},
		{"POST /api/v1/projects/{project}/secrets", userAuth, s.createSecret},
		{"GET /api/v1/projects/{project}/secrets/{name}", userAuth, s.getSecret},
		{"PUT /api/v1/projects/{project}/secrets/{name}", userAuth, s.putSecret},
		{"DELETE /api/v1/projects/{project}/secrets/{name}", userAuth, s.deleteSecret},
		{"GET /api/v1/projects/{project}/key.pub", userAuth, s.getProjectKey},
		{"GET /api/v1/secrets", userAuth, s.listSecrets},
		{"POST /api/v1/secrets", userAuth, s.createSecret},
		{"GET /api/v1/secrets/{name}", userAuth, s.getSecret},
		{"PUT /api/v1/secrets/{name}", userAuth, s.putSecret},
		{"DELETE /api/v1/secrets/{name}", userAuth, s.deleteSecret},

		{"GET /api/v1/registration-tokens", userAuth, s.listRegistrationTokens},
		{"POST /api/v1/registration-tokens", userAuth, s.createRegistrationToken},
		{"POST /api/v1/registration-tokens/{token}/revoke", userAuth, s.revokeRegistrationToken},

		// register authenticates its own credential, a registration token
		// (not an agent's or a user's), before it reads the body.
		{"POST /api/v1/agent/register", public, s.register},
		{"POST /api/v1/agent/claim", agentAuth, s.claimWhenAllowed},
		{"POST /api/v1/agent/attempts/{attempt}/report", agentAuth, s.report},
	}
}

// Routes lists every route's pattern (for the OpenAPI coverage test and docs).
func (s *Server) Routes() []string {
	var out []string
	for _, r := range s.routes() {
		out = append(out, r.Pattern)
	}
	return out
}

// Principal is the authenticated caller.
type Principal struct {
	// User is the API token's name for people and tools.
	User string
	// Agent is set for agent credentials.
	Agent *lathe.Agent
}

type principalKey struct{}

func principal(ctx context.Context) *Principal {
	p, _ := ctx.Value(principalKey{}).(*Principal)
	return p
}

// guard authenticates the caller before the handler sees the request: a
// route refuses callers of the wrong kind before it reads a body or a
// parameter.
func (s *Server) guard(rt Route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rt.Access == public {
			rt.Handler(w, r)
			return
		}
		scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		token = strings.TrimSpace(token)
		if !strings.EqualFold(scheme, "Bearer") || token == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="lathe"`)
			writeProblem(w, r, problemf(http.StatusUnauthorized, "missing bearer token: send Authorization: Bearer <token>"))
			return
		}
		p := &Principal{}
		switch rt.Access {
		case agentAuth:
			a, err := s.store.AgentByToken(r.Context(), auth.Hash(token))
			if err != nil {
				writeProblem(w, r, problemf(http.StatusUnauthorized, "unknown agent credential"))
				return
			}
			p.Agent = a
		case userAuth:
			name, err := s.store.APIToken(r.Context(), auth.Hash(token))
			if err != nil {
				writeProblem(w, r, problemf(http.StatusUnauthorized, "unknown or revoked token"))
				return
			}
			p.User = name
		}
		rt.Handler(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)))
	})
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if err := s.store.Ready(r.Context()); err != nil {
		writeProblem(w, r, problemf(http.StatusServiceUnavailable, "%v", err))
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}
