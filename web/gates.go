package web

import (
	"net/http"
	"slices"
	"strings"

	lathe "github.com/lathe-ci/lathe"
)

// mayDecide says whether the signed-in user may approve or reject a gate,
// so the page offers the buttons only to them: write on the project, not
// the user a second-person gate excludes, and one of the gate's approvers
// (a name, role:ROLE, or a team they are in) unless it names none or they
// are an admin. The API decides again on every post (dispatch's
// mayAnswerGate); this only hides what it would refuse.
func (h *Handler) mayDecide(r *http.Request, user *lathe.User, p *projectView, g *lathe.Approval) bool {
	if user == nil || g == nil || !p.CanWrite() || (g.NotBy != "" && g.NotBy == user.Name) {
		return false
	}
	if user.Admin || len(g.From) == 0 {
		return true
	}
	for _, who := range g.From {
		if who == user.Name {
			return true
		}
		if role, ok := strings.CutPrefix(who, "role:"); ok {
			if p.can(lathe.Role(role)) {
				return true
			}
			continue
		}
		var tm lathe.Team
		if _, err := h.call(r, http.MethodGet, apiPath("teams", strings.TrimPrefix(who, "@")), nil, &tm); err == nil &&
			slices.Contains(tm.Members, user.Name) {
			return true
		}
	}
	return false
}
