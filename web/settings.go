package web

import (
	"fmt"
	"net/http"
	"strings"

	lathe "github.com/lathe-ci/lathe"
)

type settingsData struct {
	Project    *projectView
	Members    []lathe.Member
	Secrets    []*lathe.Secret
	HookTokens []*lathe.HookToken
	// CreatedHook is the hook token just made, with its secret (shown once).
	CreatedHook *lathe.HookToken
	Roles       []lathe.Role
}

// settings shows a project's members, secret names, hook tokens and
// visibility to its owners, with forms to change them. Secret values
// never come back from the API, so the page shows names only.
func (h *Handler) settings(w http.ResponseWriter, r *http.Request) error {
	return h.settingsPage(w, r, nil)
}

func (h *Handler) settingsPage(w http.ResponseWriter, r *http.Request, created *lathe.HookToken) error {
	user := h.viewer(r)
	name := r.PathValue("project")
	p, err := h.loadProject(r, name)
	if err != nil {
		return err
	}
	if !p.IsOwner() {
		return &Error{Status: http.StatusForbidden, Detail: fmt.Sprintf("Settings of project %s need the owner role; you have %s.", name, roleWord(p.Role))}
	}
	d := settingsData{Project: p, CreatedHook: created, Roles: []lathe.Role{lathe.RoleRead, lathe.RoleWrite, lathe.RoleOwner}}
	var members struct{ Items []lathe.Member }
	var secrets struct{ Items []*lathe.Secret }
	var hooks struct{ Items []*lathe.HookToken }
	for _, c := range []struct {
		path string
		out  any
	}{{apiPath("projects", name, "members"), &members}, {apiPath("projects", name, "secrets"), &secrets}, {apiPath("projects", name, "hook-tokens"), &hooks}} {
		if _, err := h.call(r, http.MethodGet, c.path, nil, c.out); err != nil {
			return err
		}
	}
	d.Members, d.Secrets, d.HookTokens = members.Items, secrets.Items, hooks.Items
	return h.render(w, r, http.StatusOK, "settings", name+" settings", user, d)
}

func roleWord(r lathe.Role) string {
	if r == lathe.RoleNone {
		return "no role"
	}
	return string(r)
}

// settingsAction carries out one settings form through the API.
func (h *Handler) settingsAction(w http.ResponseWriter, r *http.Request) error {
	if err := checkCSRF(r); err != nil {
		return err
	}
	name := r.PathValue("project")
	f := r.PostFormValue
	var err error
	switch action := r.PathValue("action"); action {
	case "visibility":
		_, err = h.call(r, http.MethodPatch, apiPath("projects", name), map[string]string{"visibility": f("visibility")}, nil)
	case "grant":
		kind := "users"
		if f("kind") == "team" {
			kind = "teams"
		}
		_, err = h.call(r, http.MethodPut, apiPath("projects", name, "members", kind, strings.TrimSpace(f("member"))), map[string]string{"role": f("role")}, nil)
	case "revoke":
		kind := "users"
		if f("kind") == "team" {
			kind = "teams"
		}
		_, err = h.call(r, http.MethodDelete, apiPath("projects", name, "members", kind, f("member")), nil, nil)
	case "hook-create":
		var t lathe.HookToken
		if _, err := h.call(r, http.MethodPost, apiPath("projects", name, "hook-tokens"), map[string]string{"name": f("name")}, &t); err != nil {
			return err
		}
		return h.settingsPage(w, r, &t)
	case "hook-revoke":
		_, err = h.call(r, http.MethodDelete, apiPath("projects", name, "hook-tokens", f("id")), nil, nil)
	default:
		return &Error{Status: http.StatusNotFound, Detail: fmt.Sprintf("There is no settings action %q.", action)}
	}
	if err != nil {
		return err
	}
	http.Redirect(w, r, "/p/"+name+"/settings", http.StatusSeeOther)
	return nil
}
