package api

import (
	"errors"
	"io"
	"net/http"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/forge"
)

// maxHookBody bounds a forge hook's body: GitHub caps payloads at 25 MB.
const maxHookBody = 25 << 20

// forgeHook is a forge's hook, POST /api/v1/hooks/{forge_kind}/{project}:
// its signature, made with the project's hook secret, is its credential,
// checked over the raw body before anything in it is read. A refused hook
// is answered 401 and recorded in the audit log, and counts against its
// client like a bad token (429 past the limit); the answer does not tell
// a missing project from a bad signature. See dispatch.ForgeHook for what
// an event starts.
func (s *Server) forgeHook(w http.ResponseWriter, r *http.Request) error {
	sender, err := forge.ParseSender(r.PathValue("forge_kind"))
	if err != nil {
		return problemf(http.StatusNotFound, "%s", err.Error())
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxHookBody))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return problemf(http.StatusRequestEntityTooLarge, "hook body: over %d bytes", maxHookBody)
	}
	if err != nil {
		return problemf(http.StatusBadRequest, "hook body: %v", err)
	}
	refused := problemf(http.StatusUnauthorized, "hook refused: no such project, or the %s header does not match its hook secret",
		sender.SignatureHeader())
	p, err := s.store.Project(r.Context(), r.PathValue("project"))
	if errors.Is(err, lathe.ErrNotFound) {
		if err := s.failedToken(w, r); err != nil {
			return err
		}
		return refused
	}
	if err != nil {
		return err
	}
	var secret []byte
	if s.keys != nil {
		if secret, err = s.store.HookSecret(r.Context(), s.keys, p.ID); err != nil {
			return err
		}
	}
	if err := forge.Verify(sender, secret, r.Header, body); err != nil {
		// Refusals count against the client like bad tokens, which also
		// bounds the audit entries an anonymous caller can cause.
		if err := s.failedToken(w, r); err != nil {
			return err
		}
		s.audit(r, "hook:"+string(sender), "hook.refused", p, map[string]any{"reason": err.Error(),
			"delivery": sender.Delivery(r.Header), "client_ip": s.clientIP(r)})
		return refused
	}
	ev, err := forge.Parse(sender, r.Header, body)
	if err != nil {
		return err
	}
	out, err := s.dispatch.ForgeHook(r.Context(), sender, p, ev)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if len(out.Runs) > 0 {
		status = http.StatusAccepted
	}
	writeJSON(w, status, out)
	return nil
}
