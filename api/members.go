package api

import (
	"net/http"

	lathe "github.com/lathe-ci/lathe"
)

type roleInput struct {
	Role lathe.Role `json:"role"`
}

type memberList struct {
	Items []lathe.Member `json:"items"`
}

func (s *Server) listMembers(w http.ResponseWriter, r *http.Request) {
	items, err := s.store.Members(r.Context(), principal(r.Context()).Project.ID)
	respond(w, r, http.StatusOK, memberList{Items: items}, err)
}

// member is the grant the path names: /members/users/{user} or /members/teams/{team}.
func member(r *http.Request) lathe.Member {
	return lathe.Member{User: r.PathValue("user"), Team: r.PathValue("team")}
}

func (s *Server) grantMember(w http.ResponseWriter, r *http.Request) {
	var in roleInput
	if err := decode(w, r, &in); err != nil {
		writeProblem(w, r, err)
		return
	}
	if !in.Role.Valid() {
		writeProblem(w, r, problemf(http.StatusBadRequest, "role: %q must be read, write or owner", in.Role))
		return
	}
	p := principal(r.Context())
	m := member(r)
	m.Role = in.Role
	if err := s.store.Grant(r.Context(), p.Project.ID, m); err != nil {
		writeProblem(w, r, err)
		return
	}
	s.audit(r, p.User, "role.granted", p.Project, map[string]any{"user": m.User, "team": m.Team, "role": m.Role})
	writeJSON(w, http.StatusOK, m)
}

func (s *Server) revokeMember(w http.ResponseWriter, r *http.Request) {
	p := principal(r.Context())
	m := member(r)
	if err := s.store.Revoke(r.Context(), p.Project.ID, m); err != nil {
		writeProblem(w, r, err)
		return
	}
	s.audit(r, p.User, "role.revoked", p.Project, map[string]any{"user": m.User, "team": m.Team})
	w.WriteHeader(http.StatusNoContent)
}
