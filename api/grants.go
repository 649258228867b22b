package api

import (
	"net/http"

	lathe "github.com/lathe-ci/lathe"
)

// grantList is the projects a user or team holds roles on.
type grantList struct {
	Items []lathe.ProjectGrant `json:"items"`
}

// roleList is the project roles there are.
type roleList struct {
	Items []lathe.RoleInfo `json:"items"`
}

// listRoles serves the project roles, weakest first, with what each allows.
func (s *Server) listRoles(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, roleList{Items: lathe.Roles})
	return nil
}

// listUserGrants serves the roles a user holds on projects, directly and
// through teams (Escape's permissions in a user's or a service account's scope).
func (s *Server) listUserGrants(w http.ResponseWriter, r *http.Request) error {
	gs, err := s.store.UserGrants(r.Context(), r.PathValue("user"))
	return respond(w, http.StatusOK, grantList{Items: gs}, err)
}

// listTeamGrants serves the roles a team holds on projects.
func (s *Server) listTeamGrants(w http.ResponseWriter, r *http.Request) error {
	gs, err := s.store.TeamGrants(r.Context(), r.PathValue("team"))
	return respond(w, http.StatusOK, grantList{Items: gs}, err)
}
