package api

import (
	"net/http"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/store"
)

// groupInput is the body of create and update; absent fields keep their value on update.
type groupInput struct {
	Name        *string `json:"name"`
	Description *string `json:"description"`
}

// apply checks the input onto g. A group's name becomes the label
// group:NAME its members carry, so it follows the agent name rules.
func (in groupInput) apply(g *lathe.AgentGroup) error {
	if in.Name != nil {
		g.Name = *in.Name
	}
	if in.Description != nil {
		g.Description = *in.Description
	}
	if err := checkAgentName(g.Name); err != nil {
		return err
	}
	if len(g.Description) > 1000 {
		return problemf(http.StatusBadRequest, "description: at most 1000 characters")
	}
	return nil
}

// groupMembers names agents (by name or ID) to add to a group.
type groupMembers struct {
	Agents []string `json:"agents"`
}

func (s *Server) createGroup(w http.ResponseWriter, r *http.Request) {
	var in groupInput
	if err := decode(w, r, &in); err != nil {
		writeProblem(w, r, err)
		return
	}
	g := &lathe.AgentGroup{}
	if err := in.apply(g); err != nil {
		writeProblem(w, r, err)
		return
	}
	if err := s.store.CreateGroup(r.Context(), g); err != nil {
		writeProblem(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/agent-groups/"+g.Name)
	writeJSON(w, http.StatusCreated, g)
}

func (s *Server) listGroups(w http.ResponseWriter, r *http.Request) {
	before, limit, err := pageParams(r)
	if err != nil {
		writeProblem(w, r, err)
		return
	}
	page, err := s.store.Groups(r.Context(), before, limit)
	respond(w, r, http.StatusOK, page, err)
}

func (s *Server) getGroup(w http.ResponseWriter, r *http.Request) {
	g, err := s.store.Group(r.Context(), r.PathValue("group"))
	respond(w, r, http.StatusOK, g, err)
}

func (s *Server) updateGroup(w http.ResponseWriter, r *http.Request) {
	var in groupInput
	if err := decode(w, r, &in); err != nil {
		writeProblem(w, r, err)
		return
	}
	g, err := s.store.Group(r.Context(), r.PathValue("group"))
	if err != nil {
		writeProblem(w, r, err)
		return
	}
	if err := in.apply(g); err != nil {
		writeProblem(w, r, err)
		return
	}
	if err := s.store.UpdateGroup(r.Context(), g); err != nil {
		writeProblem(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, g)
}

func (s *Server) deleteGroup(w http.ResponseWriter, r *http.Request) {
	g, err := s.store.Group(r.Context(), r.PathValue("group"))
	if err != nil {
		writeProblem(w, r, err)
		return
	}
	if err := s.store.DeleteGroup(r.Context(), g.ID); err != nil {
		writeProblem(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) listGroupAgents(w http.ResponseWriter, r *http.Request) {
	before, limit, err := pageParams(r)
	if err != nil {
		writeProblem(w, r, err)
		return
	}
	g, err := s.store.Group(r.Context(), r.PathValue("group"))
	if err != nil {
		writeProblem(w, r, err)
		return
	}
	page, err := s.store.Agents(r.Context(), store.AgentFilter{Group: g.Name, Before: before, Limit: limit})
	respond(w, r, http.StatusOK, page, err)
}

// addGroupAgents adds agents to a group; agents already in it stay.
func (s *Server) addGroupAgents(w http.ResponseWriter, r *http.Request) {
	var in groupMembers
	if err := decode(w, r, &in); err != nil {
		writeProblem(w, r, err)
		return
	}
	if len(in.Agents) == 0 || len(in.Agents) > 200 {
		writeProblem(w, r, problemf(http.StatusBadRequest, "agents: name 1 to 200 agents (by name or ID)"))
		return
	}
	g, err := s.store.Group(r.Context(), r.PathValue("group"))
	if err != nil {
		writeProblem(w, r, err)
		return
	}
	var ids []int64
	for _, key := range in.Agents {
		a, err := s.store.Agent(r.Context(), key)
		if err != nil {
			writeProblem(w, r, err)
			return
		}
		ids = append(ids, a.ID)
	}
	if err := s.store.SetGroupMembers(r.Context(), g.ID, ids, true); err != nil {
		writeProblem(w, r, err)
		return
	}
	if g, err = s.store.Group(r.Context(), itoa(g.ID)); err != nil {
		writeProblem(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, g)
}

func (s *Server) removeGroupAgent(w http.ResponseWriter, r *http.Request) {
	g, err := s.store.Group(r.Context(), r.PathValue("group"))
	if err != nil {
		writeProblem(w, r, err)
		return
	}
	a, err := s.store.Agent(r.Context(), r.PathValue("agent"))
	if err != nil {
		writeProblem(w, r, err)
		return
	}
	if err := s.store.SetGroupMembers(r.Context(), g.ID, []int64{a.ID}, false); err != nil {
		writeProblem(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
