package api

import (
	"net/http"

	lathe "github.com/lathe-ci/lathe"
)

type teamCreate struct {
	Name string `json:"name"`
}

type teamMemberAdd struct {
	User string `json:"user"`
}

type teamList struct {
	Items []string `json:"items"`
}

// listTeams lists every team to admins; others see the teams they are in
// or that hold a role on a project they may read.
func (s *Server) listTeams(w http.ResponseWriter, r *http.Request) error {
	items, err := s.store.Teams(r.Context(), principal(r.Context()).viewer())
	return respond(w, http.StatusOK, teamList{Items: items}, err)
}

func (s *Server) createTeam(w http.ResponseWriter, r *http.Request) error {
	var in teamCreate
	if err := decode(w, r, &in); err != nil {
		return err
	}
	if !projectName().MatchString(in.Name) {
		return problemf(http.StatusBadRequest, "name: %q must be 1–100 letters, digits, '.', '_' or '-', starting with a letter or digit", in.Name)
	}
	tm := &lathe.Team{Name: in.Name}
	if err := s.store.CreateTeam(r.Context(), tm); err != nil {
		return err
	}
	s.audit(r, principal(r.Context()).User, "team.created", nil, map[string]any{"team": tm.Name})
	w.Header().Set("Location", "/api/v1/teams/"+tm.Name)
	writeJSON(w, http.StatusCreated, tm)
	return nil
}

// getTeam shows a team with its members: to admins any team, to others
// the teams they are in or that hold a role on a project they may read.
func (s *Server) getTeam(w http.ResponseWriter, r *http.Request) error {
	return s.visibleTeams(r).serve(w, r)
}

func (s *Server) deleteTeam(w http.ResponseWriter, r *http.Request) error {
	if err := s.store.DeleteTeam(r.Context(), r.PathValue("team")); err != nil {
		return err
	}
	s.audit(r, principal(r.Context()).User, "team.deleted", nil, map[string]any{"team": r.PathValue("team")})
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) addTeamMember(w http.ResponseWriter, r *http.Request) error {
	var in teamMemberAdd
	if err := decode(w, r, &in); err != nil {
		return err
	}
	team := r.PathValue("team")
	if err := s.store.SetTeamMember(r.Context(), team, in.User, true); err != nil {
		return err
	}
	s.audit(r, principal(r.Context()).User, "team.member_added", nil, map[string]any{"team": team, "user": in.User})
	tm, err := s.store.Team(r.Context(), team)
	return respond(w, http.StatusOK, tm, err)
}

func (s *Server) removeTeamMember(w http.ResponseWriter, r *http.Request) error {
	if err := s.store.SetTeamMember(r.Context(), r.PathValue("team"), r.PathValue("user"), false); err != nil {
		return err
	}
	s.audit(r, principal(r.Context()).User, "team.member_removed", nil, map[string]any{"team": r.PathValue("team"), "user": r.PathValue("user")})
	w.WriteHeader(http.StatusNoContent)
	return nil
}
