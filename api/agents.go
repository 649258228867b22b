package api

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/auth"
	"github.com/lathe-ci/lathe/dispatch"
	"github.com/lathe-ci/lathe/store"
)

// RegistrationTokenPrefix starts every registration token, so a leaked one is recognisable.
const RegistrationTokenPrefix = "lathe_reg_"

// AgentStateHeader tells an agent that gets no work why: "unauthorized" or "disabled".
const AgentStateHeader = "Lathe-Agent-State"

var agentName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$`) })

// RequireAgentAuthorization makes newly registered agents wait for an admin
// to authorize them before they get work (Kraken's "authorized").
// It may be switched while the server runs.
func (s *Server) RequireAgentAuthorization(on bool) { s.agentsNeedAuthorization.Store(on) }

func checkAgentName(name string) error {
	switch {
	case !agentName().MatchString(name):
		return problemf(http.StatusBadRequest, "name: %q must be 1–100 letters, digits, '.', '_' or '-', starting with a letter or digit", name)
	case allDigits().MatchString(name):
		return problemf(http.StatusBadRequest, "name: %q must not be all digits (a number in a URL means an agent ID)", name)
	}
	return nil
}

// checkLabelSyntax refuses labels no runs-on could name; field names them.
func checkLabelSyntax(field string, labels []string) error {
	for _, l := range labels {
		if l == "" || strings.ContainsAny(l, " \t\r\n,") {
			return problemf(http.StatusBadRequest, "%s: %q must be non-empty, without spaces or commas", field, l)
		}
	}
	return nil
}

// checkLabels refuses labels an agent could not be given.
func checkLabels(labels []string) error {
	if err := checkLabelSyntax("labels", labels); err != nil {
		return err
	}
	for _, l := range labels {
		if strings.HasPrefix(l, lathe.GroupLabelPrefix) {
			return problemf(http.StatusBadRequest, "labels: %q: labels starting with %q are given by group membership; add the agent to the group instead", l, lathe.GroupLabelPrefix)
		}
	}
	return nil
}

// registerInput is what a new agent sends with its registration token.
type registerInput struct {
	Name   string         `json:"name"`
	Labels []string       `json:"labels"`
	Host   lathe.HostInfo `json:"host"`
}

// registration is the answer to register: the agent and its credential, shown once.
type registration struct {
	Agent *lathe.Agent `json:"agent"`
	Token string       `json:"token"`
}

// register creates an agent for the holder of a registration token and
// gives it its own credential; only the credential's hash is stored.
func (s *Server) register(w http.ResponseWriter, r *http.Request) error {
	scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	token = strings.TrimSpace(token)
	if !strings.EqualFold(scheme, "Bearer") || token == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="lathe"`)
		return problemf(http.StatusUnauthorized, "missing registration token: send Authorization: Bearer <registration token>")
	}
	if err := s.store.CheckRegistrationToken(r.Context(), auth.Hash(token)); err != nil {
		if errors.Is(err, lathe.ErrUnauthorized) {
			err = problemf(http.StatusUnauthorized, "unknown or revoked registration token")
		}
		return err
	}
	var in registerInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	if err := checkAgentName(in.Name); err != nil {
		return err
	}
	if err := checkLabels(in.Labels); err != nil {
		return err
	}
	a := &lathe.Agent{Name: in.Name, Labels: in.Labels, Host: in.Host}
	cred, hash := auth.NewToken(auth.PrefixAgent)
	err := s.store.RegisterAgent(r.Context(), auth.Hash(token), a, hash, s.agentsNeedAuthorization.Load())
	if errors.Is(err, lathe.ErrUnauthorized) {
		return problemf(http.StatusUnauthorized, "unknown or revoked registration token")
	}
	if err != nil {
		return err
	}
	slogFrom(r).Info("agent registered", "agent", a.Name, "agent_id", a.ID, "authorized", a.Authorized)
	s.audit(r, "agent:"+a.Name, "agent.registered", nil, map[string]any{"agent_id": a.ID, "agent": a.Name, "authorized": a.Authorized})
	w.Header().Set("Location", "/api/v1/agents/"+itoa(a.ID))
	writeJSON(w, http.StatusCreated, registration{Agent: a, Token: cred})
	return nil
}

// claimWhenAllowed is the claim route. It records the host info the agent
// sends, then hands authorized, enabled agents to claim. An unauthorized or
// disabled agent gets what an agent with nothing to do gets, 204 after the
// wait (its last_seen still updated), with a Lathe-Agent-State header saying
// why; it is not an error the agent should back off from. State changes
// take effect within the poll: an agent authorized or enabled meanwhile goes
// on to claim, and one disabled (or unauthorized) meanwhile stops waiting
// for work. The store checks the agent again inside the claim, so a
// disable that commits first always keeps the agent from a job.
func (s *Server) claimWhenAllowed(w http.ResponseWriter, r *http.Request) error {
	p := principal(r.Context())
	a, err := s.noteHost(r, p.Agent)
	if err != nil {
		return err
	}
	wait, err := queryInt(r, "wait", 25, 0, 60)
	if err != nil {
		return err
	}
	end := time.Now().Add(time.Duration(wait) * time.Second)
	for {
		if idle(a) == "" {
			p.Agent = a
			if done, err := s.claimWhileAllowed(w, r, end); err != nil || done {
				return err
			}
		}
		if a, err = s.waitWhileIdle(w, r, a, end); a == nil || err != nil {
			return err
		}
	}
}

// waitWhileIdle waits until end for the calling agent a, disabled or
// unauthorized, to be allowed to claim, and returns it as it then is. At end
// it answers 204 with why the agent is idle (AgentStateHeader), and returns
// nil, as it does when the client has gone.
func (s *Server) waitWhileIdle(w http.ResponseWriter, r *http.Request, a *lathe.Agent, end time.Time) (*lathe.Agent, error) {
	ctx := r.Context()
	var deadline *time.Timer // made once the agent waits here, idle
	defer func() {
		if deadline != nil {
			deadline.Stop()
		}
	}()
	for {
		wake := s.store.ClaimSignal(ctx, a.Labels)
		var err error
		if a, err = s.reloadAgent(ctx, r); err != nil || idle(a) == "" {
			return a, err
		}
		if deadline == nil {
			if err := s.store.TouchAgent(ctx, a.ID); err != nil {
				return nil, err
			}
			deadline = time.NewTimer(time.Until(end))
		}
		select {
		case <-wake:
		case <-deadline.C:
			w.Header().Set(AgentStateHeader, idle(a))
			w.WriteHeader(http.StatusNoContent)
			return nil, nil
		case <-ctx.Done():
			return nil, nil
		}
	}
}

// noteHost stores the host an agent's claim describes (lathe.AgentHostHeader)
// when it changed, and returns the agent as it now is. It is a call of its
// own so that its locals are not in the frame of claimWhenAllowed, which
// stays on the stack through an idle agent's whole wait (see
// dispatch.Service.look).
func (s *Server) noteHost(r *http.Request, a *lathe.Agent) (*lathe.Agent, error) {
	v := r.Header.Get(lathe.AgentHostHeader)
	if v == "" {
		return a, nil
	}
	h, ok := s.hosts.decode(a.ID, v)
	if !ok || h == a.Host {
		return a, nil
	}
	if err := s.store.SetAgentHost(r.Context(), a.ID, h); err != nil {
		return nil, err
	}
	if h.Container != a.Host.Container {
		// The labels it routes by change (executor:container).
		reloaded, err := s.reloadAgent(r.Context(), r)
		if err != nil {
			return nil, err
		}
		a = reloaded
	}
	a.Host = h
	return a, nil
}

// claimWhileAllowed long-polls until end for a job the calling agent can
// run: it answers 200 with an Assignment as soon as one is queued, or 204
// at end with none (see dispatch.Service.Claim). A request carrying the
// claim ID of an earlier one gets that request's attempt again while it
// runs. The wait ends early, with no answer, once the agent is disabled or
// unauthorized (the claim reads the agent again each time it wakes). It
// reports whether an answer was written (or the client is gone), or the
// error to answer with.
func (s *Server) claimWhileAllowed(w http.ResponseWriter, r *http.Request, end time.Time) (bool, error) {
	ctx := r.Context()
	// The deadline passes as it is: rounded to whole seconds, a 1 s poll
	// would end at once and an agent would spin.
	c := claimRequest(r, end)
	c.Allowed = func(ctx context.Context) bool {
		a, err := s.reloadAgent(ctx, r)
		return err != nil || idle(a) == ""
	}
	as, err := s.dispatch.Claim(ctx, principal(ctx).actor(), &c)
	switch {
	case errors.Is(err, dispatch.ErrStopped):
		return false, nil // no answer of its own: the agent stopped being allowed
	case err != nil && ctx.Err() != nil:
		return true, nil // the client is gone
	case err != nil:
		return true, err
	case as == nil:
		w.WriteHeader(http.StatusNoContent)
		return true, nil
	}
	writeJSON(w, http.StatusOK, as)
	return true, nil
}

// claimRequest reads a claim's ID from r. (A call of its own: its locals
// stay out of claimWhileAllowed's frame, on the stack through an idle
// agent's whole wait, see dispatch.Service.look.)
//
//go:noinline
func claimRequest(r *http.Request, end time.Time) dispatch.ClaimRequest {
	return dispatch.ClaimRequest{
		ID:  r.Header.Get(lathe.ClaimIDHeader),
		New: r.Header.Get(lathe.ClaimNewHeader) == "1",
		End: end,
	}
}

// idle says why an agent gets no work, or "" when it may.
func idle(a *lathe.Agent) string {
	switch {
	case a.Disabled:
		return "disabled"
	case !a.Authorized:
		return "unauthorized"
	}
	return ""
}

// reloadAgent reads the calling agent again by its credential.
func (s *Server) reloadAgent(ctx context.Context, r *http.Request) (*lathe.Agent, error) {
	if st := stateOf(r); st != nil && st.agentToken != "" {
		return s.store.AgentByToken(ctx, st.agentToken)
	}
	_, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	return s.store.AgentByToken(ctx, auth.Hash(strings.TrimSpace(token)))
}

// agentChange is an update to one agent; absent fields keep their value.
type agentChange struct {
	Name       *string   `json:"name"`
	Labels     *[]string `json:"labels"`
	Authorized *bool     `json:"authorized"`
	Disabled   *bool     `json:"disabled"`
}

// agentsChange is one item of a bulk update: which agent, and its changes.
type agentsChange struct {
	ID int64 `json:"id"`
	agentChange
}

func (c agentChange) check() (store.AgentChange, error) {
	if c.Name != nil {
		if err := checkAgentName(*c.Name); err != nil {
			return store.AgentChange{}, err
		}
	}
	if c.Labels != nil {
		if err := checkLabels(*c.Labels); err != nil {
			return store.AgentChange{}, err
		}
	}
	return store.AgentChange{Name: c.Name, Labels: c.Labels, Authorized: c.Authorized, Disabled: c.Disabled}, nil
}

func queryBool(r *http.Request, name string) (*bool, error) {
	v := queryValue(r, name)
	if v == "" {
		return nil, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return nil, problemf(http.StatusBadRequest, "query parameter %s: %q must be true or false", name, v)
	}
	return &b, nil
}

// listAgents lists every agent to admins; others see the agents that ran
// jobs of projects they may read.
func (s *Server) listAgents(w http.ResponseWriter, r *http.Request) error {
	before, limit, err := pageParams(r)
	if err != nil {
		return err
	}
	f := store.AgentFilter{Group: r.URL.Query().Get("group"), Label: r.URL.Query().Get("label"), Before: before, Limit: limit,
		Viewer: principal(r.Context()).viewer()}
	for _, b := range []struct {
		name string
		v    **bool
	}{{"authorized", &f.Authorized}, {"disabled", &f.Disabled}, {"online", &f.Online}} {
		if *b.v, err = queryBool(r, b.name); err != nil {
			return err
		}
	}
	page, err := s.store.Agents(r.Context(), f)
	return respond(w, http.StatusOK, page, err)
}

// getAgent shows an agent to admins, and to others when it ran a job of a
// project they may read.
func (s *Server) getAgent(w http.ResponseWriter, r *http.Request) error {
	return s.visibleAgents(r).serve(w, r)
}

func (s *Server) updateAgent(w http.ResponseWriter, r *http.Request) error {
	var in agentChange
	if err := decode(w, r, &in); err != nil {
		return err
	}
	a, err := s.agents().of(r)
	if err != nil {
		return err
	}
	c, err := in.check()
	if err != nil {
		return err
	}
	if err := s.store.UpdateAgents(r.Context(), map[int64]store.AgentChange{a.ID: c}); err != nil {
		return err
	}
	s.auditAgentChange(r, a.ID, c)
	if a, err = s.store.Agent(r.Context(), itoa(a.ID)); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, a)
	return nil
}

// updateAgents changes several agents at once (Kraken's PATCH /agents): the
// body is a list of {id, …changes}; all apply or none do.
func (s *Server) updateAgents(w http.ResponseWriter, r *http.Request) error {
	var in []agentsChange
	if err := decode(w, r, &in); err != nil {
		return err
	}
	if len(in) == 0 || len(in) > 200 {
		return problemf(http.StatusBadRequest, "send a list of 1 to 200 {id, …changes}")
	}
	changes := map[int64]store.AgentChange{}
	for i, item := range in {
		if item.ID <= 0 {
			return problemf(http.StatusBadRequest, "[%d].id: required: the ID of an agent", i)
		}
		if _, dup := changes[item.ID]; dup {
			return problemf(http.StatusBadRequest, "[%d].id: agent %d is listed twice", i, item.ID)
		}
		c, err := item.check()
		if err != nil {
			return err
		}
		changes[item.ID] = c
	}
	if err := s.store.UpdateAgents(r.Context(), changes); err != nil {
		return err
	}
	for id, c := range changes {
		s.auditAgentChange(r, id, c)
	}
	out := make([]*lathe.Agent, 0, len(in))
	for _, item := range in {
		a, err := s.store.Agent(r.Context(), itoa(item.ID))
		if err != nil {
			return err
		}
		out = append(out, a)
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": out})
	return nil
}

// deleteAgent deletes an agent and its credential; an agent running a job
// is refused with 409 (disable it, let the job end, then delete).
func (s *Server) deleteAgent(w http.ResponseWriter, r *http.Request) error {
	return s.agents().with(r, func(a *lathe.Agent) error {
		if err := s.store.DeleteAgent(r.Context(), a.ID); err != nil {
			return err
		}
		s.audit(r, principal(r.Context()).User, "agent.deleted", nil, map[string]any{"agent_id": a.ID, "agent": a.Name})
		return noContent(w, nil)
	})
}

func (s *Server) listAgentAttempts(w http.ResponseWriter, r *http.Request) error {
	before, limit, err := pageParams(r)
	if err != nil {
		return err
	}
	a, err := s.agents().of(r)
	if err != nil {
		return err
	}
	page, err := s.store.AgentAttempts(r.Context(), a.ID, before, limit)
	return respond(w, http.StatusOK, page, err)
}

// registrationTokenInput names a new registration token.
type registrationTokenInput struct {
	Name string `json:"name"`
}

func (s *Server) createRegistrationToken(w http.ResponseWriter, r *http.Request) error {
	var in registrationTokenInput
	if err := decodeOptional(w, r, &in); err != nil {
		return err
	}
	if len(in.Name) > 200 {
		return problemf(http.StatusBadRequest, "name: at most 200 characters")
	}
	token, hash := auth.NewToken(RegistrationTokenPrefix)
	rt := &lathe.RegistrationToken{Name: in.Name}
	if err := s.store.CreateRegistrationToken(r.Context(), rt, hash); err != nil {
		return err
	}
	s.audit(r, principal(r.Context()).User, "registration_token.created", nil, map[string]any{"token_id": rt.ID, "token": rt.Name})
	rt.Token = token
	writeJSON(w, http.StatusCreated, rt)
	return nil
}

func (s *Server) listRegistrationTokens(w http.ResponseWriter, r *http.Request) error {
	before, limit, err := pageParams(r)
	if err != nil {
		return err
	}
	page, err := s.store.RegistrationTokens(r.Context(), before, limit)
	return respond(w, http.StatusOK, page, err)
}

func (s *Server) revokeRegistrationToken(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "token")
	if err != nil {
		return err
	}
	if err := s.store.RevokeRegistrationToken(r.Context(), id); err != nil {
		return err
	}
	s.audit(r, principal(r.Context()).User, "registration_token.revoked", nil, map[string]any{"token_id": id})
	rt, err := s.store.RegistrationToken(r.Context(), id)
	return respond(w, http.StatusOK, rt, err)
}
