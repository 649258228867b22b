package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/store"
)

// groupInput is the body of create and update; absent fields keep their value on update.
type groupInput struct {
	Name        *string `json:"name"`
	Description *string `json:"description"`
	// Provider sets the group's provider; null removes it.
	Provider json.RawMessage `json:"provider"`
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
	if len(in.Provider) > 0 {
		if string(in.Provider) == "null" {
			g.Provider = nil
		} else {
			p := &lathe.AgentProvider{}
			dec := json.NewDecoder(bytes.NewReader(in.Provider))
			dec.DisallowUnknownFields()
			if err := dec.Decode(p); err != nil {
				return problemf(http.StatusBadRequest, "provider: %v", err)
			}
			if err := p.Check(); err != nil {
				return problemf(http.StatusBadRequest, "%s", strings.TrimSuffix(err.Error(), ": "+lathe.ErrInvalid.Error()))
			}
			g.Provider = p
		}
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

func (s *Server) createGroup(w http.ResponseWriter, r *http.Request) error {
	var in groupInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	g := &lathe.AgentGroup{}
	if err := in.apply(g); err != nil {
		return err
	}
	if err := s.store.CreateGroup(r.Context(), g); err != nil {
		return err
	}
	s.auditGroup(r, "agent_group.created", g, nil)
	w.Header().Set("Location", "/api/v1/agent-groups/"+g.Name)
	writeJSON(w, http.StatusCreated, g)
	return nil
}

func (s *Server) listGroups(w http.ResponseWriter, r *http.Request) error {
	before, limit, err := pageParams(r)
	if err != nil {
		return err
	}
	page, err := s.store.Groups(r.Context(), before, limit)
	return respond(w, http.StatusOK, page, err)
}

func (s *Server) getGroup(w http.ResponseWriter, r *http.Request) error {
	return s.groups().serve(w, r)
}

func (s *Server) updateGroup(w http.ResponseWriter, r *http.Request) error {
	var in groupInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	g, err := s.groups().of(r)
	if err != nil {
		return err
	}
	if err := in.apply(g); err != nil {
		return err
	}
	if err := s.store.UpdateGroup(r.Context(), g); err != nil {
		return err
	}
	s.auditGroup(r, "agent_group.updated", g, nil)
	writeJSON(w, http.StatusOK, g)
	return nil
}

func (s *Server) deleteGroup(w http.ResponseWriter, r *http.Request) error {
	return s.groups().with(r, func(g *lathe.AgentGroup) error {
		if err := s.store.DeleteGroup(r.Context(), g.ID); err != nil {
			return err
		}
		s.auditGroup(r, "agent_group.deleted", g, nil)
		return noContent(w, nil)
	})
}

func (s *Server) listGroupAgents(w http.ResponseWriter, r *http.Request) error {
	before, limit, err := pageParams(r)
	if err != nil {
		return err
	}
	g, err := s.groups().of(r)
	if err != nil {
		return err
	}
	page, err := s.store.Agents(r.Context(), store.AgentFilter{Group: g.Name, Before: before, Limit: limit})
	return respond(w, http.StatusOK, page, err)
}

// addGroupAgents adds agents to a group; agents already in it stay.
func (s *Server) addGroupAgents(w http.ResponseWriter, r *http.Request) error {
	var in groupMembers
	if err := decode(w, r, &in); err != nil {
		return err
	}
	if len(in.Agents) == 0 || len(in.Agents) > 200 {
		return problemf(http.StatusBadRequest, "agents: name 1 to 200 agents (by name or ID)")
	}
	g, err := s.groups().of(r)
	if err != nil {
		return err
	}
	var ids []int64
	for _, key := range in.Agents {
		a, err := s.store.Agent(r.Context(), key)
		if err != nil {
			return err
		}
		ids = append(ids, a.ID)
	}
	if err := s.store.SetGroupMembers(r.Context(), g.ID, ids, true); err != nil {
		return err
	}
	s.auditGroup(r, "agent_group.agents_added", g, ids)
	if g, err = s.store.Group(r.Context(), itoa(g.ID)); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, g)
	return nil
}

func (s *Server) removeGroupAgent(w http.ResponseWriter, r *http.Request) error {
	return s.groups().with(r, func(g *lathe.AgentGroup) error {
		return s.agents().with(r, func(a *lathe.Agent) error {
			if err := s.store.SetGroupMembers(r.Context(), g.ID, []int64{a.ID}, false); err != nil {
				return err
			}
			s.auditGroup(r, "agent_group.agent_removed", g, []int64{a.ID})
			return noContent(w, nil)
		})
	})
}

// instanceList is the answer of listGroupInstances.
type instanceList struct {
	Items []*lathe.AgentInstance `json:"items"`
}

// listGroupInstances lists the agents the group's provider started, with
// their states (see lathe.AgentInstance).
func (s *Server) listGroupInstances(w http.ResponseWriter, r *http.Request) error {
	g, err := s.groups().of(r)
	if err != nil {
		return err
	}
	items, err := s.store.Instances(r.Context(), g.ID)
	return respond(w, http.StatusOK, instanceList{Items: items}, err)
}

// auditGroup records an admin's change to an agent group: a group's
// provider starts commands and its members take its jobs, so who changed
// it is kept. agents are the members added or removed, if any.
func (s *Server) auditGroup(r *http.Request, action string, g *lathe.AgentGroup, agents []int64) {
	details := map[string]any{"group_id": g.ID, "group": g.Name}
	if agents != nil {
		details["agent_ids"] = agents
	}
	s.audit(r, principal(r.Context()).User, action, nil, details)
}
