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

func (s *Server) listMembers(w http.ResponseWriter, r *http.Request) error {
	items, err := s.store.Members(r.Context(), principal(r.Context()).Project.ID)
	return respond(w, http.StatusOK, memberList{Items: items}, err)
}

// member is the grant the path names: /members/users/{user} or /members/teams/{team}.
func member(r *http.Request) lathe.Member {
	return lathe.Member{User: r.PathValue("user"), Team: r.PathValue("team")}
}

func (s *Server) grantMember(w http.ResponseWriter, r *http.Request) error {
	var in roleInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	if !in.Role.Valid() {
		return problemf(http.StatusBadRequest, "role: %q must be read, write or owner", in.Role)
	}
	p := principal(r.Context())
	m := member(r)
	m.Role = in.Role
	if err := s.store.Grant(r.Context(), p.Project.ID, m); err != nil {
		return err
	}
	s.audit(r, p.User, "role.granted", p.Project, map[string]any{"user": m.User, "team": m.Team, "role": m.Role})
	writeJSON(w, http.StatusOK, m)
	return nil
}

func (s *Server) revokeMember(w http.ResponseWriter, r *http.Request) error {
	p := principal(r.Context())
	m := member(r)
	if err := s.store.Revoke(r.Context(), p.Project.ID, m); err != nil {
		return err
	}
	s.audit(r, p.User, "role.revoked", p.Project, map[string]any{"user": m.User, "team": m.Team})
	w.WriteHeader(http.StatusNoContent)
	return nil
}
