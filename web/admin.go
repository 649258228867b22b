package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	lathe "github.com/lathe-ci/lathe"
)

type tokensData struct {
	Tokens []*lathe.RegistrationToken
	// Created is the token just made, with its secret (shown this once).
	Created *lathe.RegistrationToken
}

// tokens lists the agents' registration tokens (admins).
func (h *Handler) tokens(w http.ResponseWriter, r *http.Request) error {
	return h.tokensPage(w, r, nil)
}

func (h *Handler) tokensPage(w http.ResponseWriter, r *http.Request, created *lathe.RegistrationToken) error {
	user := h.viewer(r)
	var list struct{ Items []*lathe.RegistrationToken }
	if _, err := h.call(r, http.MethodGet, "/api/v1/registration-tokens", nil, &list); err != nil {
		return err
	}
	return h.render(w, r, http.StatusOK, "tokens", "Registration tokens", user, tokensData{Tokens: list.Items, Created: created})
}

// tokenAction creates a registration token (its secret is on the answer
// page only) or revokes one.
func (h *Handler) tokenAction(w http.ResponseWriter, r *http.Request) error {
	if err := checkCSRF(r); err != nil {
		return err
	}
	switch r.PostFormValue("action") {
	case "create":
		var t lathe.RegistrationToken
		if _, err := h.call(r, http.MethodPost, "/api/v1/registration-tokens", map[string]string{"name": r.PostFormValue("name")}, &t); err != nil {
			return err
		}
		return h.tokensPage(w, r, &t)
	case "revoke":
		if _, err := h.call(r, http.MethodPost, apiPath("registration-tokens", r.PostFormValue("id"), "revoke"), nil, nil); err != nil {
			return err
		}
		http.Redirect(w, r, "/admin/tokens", http.StatusSeeOther)
		return nil
	}
	return &Error{Status: http.StatusBadRequest, Detail: fmt.Sprintf("There is no token action %q.", r.PostFormValue("action"))}
}

type auditData struct {
	Events []*auditEvent
	Type   string
	Next   string
}

// auditEvent is an audit entry as the API answers it.
type auditEvent struct {
	ID        int64          `json:"id"`
	At        string         `json:"at"`
	Actor     string         `json:"actor"`
	Action    string         `json:"action"`
	ProjectID *int64         `json:"project_id"`
	Details   map[string]any `json:"details"`
}

// audit lists audit events, newest first, filtered by type (admins).
func (h *Handler) audit(w http.ResponseWriter, r *http.Request) error {
	user := h.viewer(r)
	q := url.Values{"limit": {"100"}}
	d := auditData{Type: r.URL.Query().Get("type")}
	if d.Type != "" {
		q.Set("type", d.Type)
	}
	if b := r.URL.Query().Get("before"); b != "" {
		q.Set("before", b)
	}
	var page lathe.Page[*auditEvent]
	if _, err := h.call(r, http.MethodGet, "/api/v1/events?"+q.Encode(), nil, &page); err != nil {
		return err
	}
	d.Events = page.Items
	if page.Next != nil {
		nq := url.Values{"before": {strconv.FormatInt(*page.Next, 10)}}
		if d.Type != "" {
			nq.Set("type", d.Type)
		}
		d.Next = "/audit?" + nq.Encode()
	}
	return h.render(w, r, http.StatusOK, "audit", "Audit events", user, d)
}
