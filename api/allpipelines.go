package api

import (
	"errors"
	"net/http"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/trigger"
)

// projectPipelineView is one pipeline in the list across projects: the
// pipeline as its project's default branch defines it, with its project.
type projectPipelineView struct {
	Project string `json:"project"`
	pipelineView
}

// pipelineProblem says why a project's pipelines are missing from the list
// across projects: its default branch does not resolve, or its pipeline
// files are invalid there.
type pipelineProblem struct {
	Project string `json:"project"`
	Detail  string `json:"detail"`
}

// pipelineDirectory is a page of the list across projects.
type pipelineDirectory struct {
	Items    []projectPipelineView `json:"items"`
	Problems []pipelineProblem     `json:"problems"`
	// Next is the cursor of the following page of projects (pass it as
	// before), or null on the last page.
	Next *int64 `json:"next"`
}

// maxDirectoryProjects bounds the projects one page of the list across
// projects reads: each costs a look at its repository.
const maxDirectoryProjects = 50

// projectPageParams reads a page of a list that pages by project (limit
// counts projects, whose items never split across pages): its cursor
// (before, a project's ID) and size.
func projectPageParams(r *http.Request) (before int64, limit int, err error) {
	l, err := queryInt(r, "limit", 20, 1, maxDirectoryProjects)
	if err != nil {
		return 0, 0, err
	}
	before, err = queryInt(r, "before", 0, 0, 1<<62)
	return before, int(l), err
}

// listAllPipelines lists the pipelines of every project the caller may
// read, as each project's default branch defines them at its last known
// head (Escape's builds visible to the user). It pages by project, newest first: limit counts
// projects, and a project's pipelines are never split across pages.
func (s *Server) listAllPipelines(w http.ResponseWriter, r *http.Request) error {
	before, limit, err := projectPageParams(r)
	if err != nil {
		return err
	}
	p := principal(r.Context())
	page, err := s.store.ProjectsFor(r.Context(), p.viewer(), before, limit)
	if err != nil {
		return err
	}
	out := pipelineDirectory{Items: []projectPipelineView{}, Problems: []pipelineProblem{}, Next: page.Next}
	for _, proj := range page.Items {
		views, err := s.defaultBranchPipelines(r, proj)
		var cfg *trigger.ConfigError
		switch {
		case errors.As(err, &cfg), errors.Is(err, lathe.ErrInvalid):
			out.Problems = append(out.Problems, pipelineProblem{Project: proj.Name, Detail: err.Error()})
			continue
		case err != nil:
			return err
		}
		for _, v := range views {
			out.Items = append(out.Items, projectPipelineView{Project: proj.Name, pipelineView: v})
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// defaultBranchPipelines reads p's pipelines at its default branch's last
// known head (the newest commit Lathe saw there), which the mirror holds:
// a page of projects then costs no call to their remotes. A branch Lathe
// has not seen yet is asked of the remote.
func (s *Server) defaultBranchPipelines(r *http.Request, p *lathe.Project) ([]pipelineView, error) {
	head, err := s.store.BranchHead(r.Context(), p.ID, p.DefaultBranch)
	if err != nil || head == "" {
		if err != nil {
			return nil, err
		}
		return s.projectPipelines(r, p, "")
	}
	views, err := s.projectPipelines(r, p, head)
	for i := range views {
		views[i].Ref = "refs/heads/" + p.DefaultBranch
	}
	return views, err
}
