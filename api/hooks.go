package api

import (
	"cmp"
	"fmt"
	"net/http"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/auth"
	"github.com/lathe-ci/lathe/dispatch"
	"github.com/lathe-ci/lathe/pipeline"
	"github.com/lathe-ci/lathe/trigger"
)

// HookTokenPrefix marks a project webhook token.
const HookTokenPrefix = "lathe_hook_"

type hookTokenInput struct {
	Name string `json:"name"`
}

// createHookToken makes a webhook token for a project; its secret is in
// this answer only.
func (s *Server) createHookToken(w http.ResponseWriter, r *http.Request) error {
	var in hookTokenInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	if in.Name == "" || len(in.Name) > 100 {
		return problemf(http.StatusBadRequest, "name: say what the token is for, in 1 to 100 characters")
	}
	p := projectOf(r)
	token, hash := auth.NewToken(HookTokenPrefix)
	ht := &lathe.HookToken{ProjectID: p.ID, Name: in.Name}
	if err := s.store.CreateHookToken(r.Context(), ht, hash); err != nil {
		return err
	}
	ht.Token = token
	s.audit(r, principal(r.Context()).User, "hook_token.created", p, map[string]any{"hook_token_id": ht.ID, "name": ht.Name})
	writeJSON(w, http.StatusCreated, ht)
	return nil
}

func (s *Server) listHookTokens(w http.ResponseWriter, r *http.Request) error {
	p := projectOf(r)
	tokens, err := s.store.HookTokens(r.Context(), p.ID)
	return respond(w, http.StatusOK, map[string]any{"items": tokens}, err)
}

func (s *Server) revokeHookToken(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "token")
	if err != nil {
		return err
	}
	p := projectOf(r)
	if err := s.store.RevokeHookToken(r.Context(), p.ID, id); err != nil {
		return err
	}
	s.audit(r, principal(r.Context()).User, "hook_token.revoked", p, map[string]any{"hook_token_id": id})
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// hookInput is what a webhook says: the ref pushed (or to build), and
// whether it is a push (path conditions compare it with the last
// successful run) or a plain webhook event.
type hookInput struct {
	Ref    string            `json:"ref"`
	Event  string            `json:"event"`
	Params map[string]string `json:"params"`
	// Base is the branch a pull request targets; Fork says its code comes
	// from outside the project, so its runs are untrusted.
	Base string `json:"base"`
	Fork bool   `json:"fork"`
}

// hook is the generic webhook: the token in the path is the credential, so
// forges and scripts need no API token. It starts every pipeline whose
// `on:` takes the event at the ref, and answers with the runs. A pull
// request from a fork starts untrusted runs: no secrets, and nothing runs
// until a user with write approves the commit (POST /runs/{run}/approve).
func (s *Server) hook(w http.ResponseWriter, r *http.Request) error {
	p, err := s.store.HookProject(r.Context(), auth.Hash(r.PathValue("token")))
	if err != nil {
		return err
	}
	var in hookInput
	if err := decodeOptional(w, r, &in); err != nil {
		return err
	}
	runs, err := s.dispatch.Event(r.Context(), p, trigger.EventRequest{Ref: in.Ref, Kind: in.Event, Base: in.Base,
		Params: in.Params, Untrusted: in.Fork})
	out := map[string]any{"items": runs}
	if err == nil && len(runs) == 0 {
		// Whoever sent it sees only this answer: say why.
		out["ignored"] = dispatch.NoRunStarted(fmt.Sprintf("%s of %s", cmp.Or(in.Event, pipeline.EventWebhook), cmp.Or(in.Ref, p.DefaultBranch)))
	}
	return respond(w, http.StatusAccepted, out, err)
}
