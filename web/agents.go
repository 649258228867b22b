package web

import (
	"fmt"
	"net/http"

	lathe "github.com/lathe-ci/lathe"
)

type agentRow struct {
	Agent *lathe.Agent
	// Current is the attempt the agent is running, or nil.
	Current *lathe.Attempt
}

type agentsData struct {
	Agents []agentRow
	Admin  bool
}

// agents lists the agents the user may see (all of them for an admin),
// with what each is running; an admin may authorize, disable or enable them.
func (h *Handler) agents(w http.ResponseWriter, r *http.Request) error {
	user := h.viewer(r)
	if user == nil {
		return &Error{Status: http.StatusUnauthorized}
	}
	var page lathe.Page[*lathe.Agent]
	if _, err := h.call(r, http.MethodGet, "/api/v1/agents?limit=200", nil, &page); err != nil {
		return err
	}
	d := agentsData{Admin: user.Admin}
	for _, a := range page.Items {
		row := agentRow{Agent: a}
		if user.Admin {
			var at lathe.Page[*lathe.Attempt]
			if _, err := h.call(r, http.MethodGet, apiPath("agents", a.Name, "attempts")+"?limit=1", nil, &at); err == nil &&
				len(at.Items) > 0 && !at.Items[0].Status.Terminal() {
				row.Current = at.Items[0]
			}
		}
		d.Agents = append(d.Agents, row)
	}
	return h.render(w, r, http.StatusOK, "agents", "Agents", user, d)
}

// agentChanges are the agent forms' actions, as the API's PATCH bodies.
var agentChanges = map[string]map[string]bool{
	"authorize":   {"authorized": true},
	"unauthorize": {"authorized": false},
	"disable":     {"disabled": true},
	"enable":      {"disabled": false},
}

func (h *Handler) agentAction(w http.ResponseWriter, r *http.Request) error {
	if err := checkCSRF(r); err != nil {
		return err
	}
	change, ok := agentChanges[r.PostFormValue("action")]
	if !ok {
		return &Error{Status: http.StatusBadRequest, Detail: fmt.Sprintf("There is no agent action %q.", r.PostFormValue("action"))}
	}
	if _, err := h.call(r, http.MethodPatch, apiPath("agents", r.PathValue("agent")), change, nil); err != nil {
		return err
	}
	http.Redirect(w, r, "/agents", http.StatusSeeOther)
	return nil
}
