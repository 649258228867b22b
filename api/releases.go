package api

import (
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"sync"

	"github.com/lathe-ci/lathe/trigger"
)

// Releases (Aviator's release API): a release is a version; each of its
// candidates is one commit, VERSION-rcN.

// The seed's exact messages.
const (
	msgBadVersion = "Invalid release candidate version"
	msgBadCommit  = "Invalid commit hash"
	msgNoEnv      = "Release environment not found"
	msgNoRelease  = "Release not found"
)

// candidateVersion is VERSION-rcN with an integer N.
var candidateVersion = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^([A-Za-z0-9][A-Za-z0-9._+-]{0,99})-rc([0-9]{1,6})$`)
})

// parseCandidate splits VERSION-rcN, refusing anything else with the seed's message.
func parseCandidate(v string) (string, int, error) {
	m := candidateVersion().FindStringSubmatch(v)
	if m == nil {
		return "", 0, problemf(http.StatusBadRequest, "%s", msgBadVersion)
	}
	n, _ := strconv.Atoi(m[2])
	if n < 1 {
		return "", 0, problemf(http.StatusBadRequest, "%s", msgBadVersion)
	}
	return m[1], n, nil
}

// releaseInput creates a release candidate.
type releaseInput struct {
	Commit string `json:"commit"`
	// TriggerBuild runs BuildPipeline at the commit; the candidate is ready
	// when it succeeds. Without it the candidate is ready at once.
	TriggerBuild bool `json:"trigger_build"`
	// TriggerBuildWorkflow is Aviator's name for TriggerBuild.
	TriggerBuildWorkflow bool `json:"trigger_build_workflow"`
	// BuildPipeline names the build pipeline; default: the project's
	// release settings' (see ReleaseSettings), "build" unless set.
	BuildPipeline string `json:"build_pipeline"`
	// Repo is accepted for Aviator's clients and ignored: the project has one repository.
	Repo string `json:"repo"`
}

// createRelease creates a release candidate (and its release with the first).
func (s *Server) createRelease(w http.ResponseWriter, r *http.Request) error {
	p := projectOf(r)
	version, n, err := parseCandidate(r.PathValue("version"))
	if err != nil {
		return err
	}
	var in releaseInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	ok, err := s.trigger.HasCommit(r.Context(), p, in.Commit)
	if err != nil {
		return err
	}
	if !ok {
		return problemf(http.StatusBadRequest, "%s", msgBadCommit)
	}
	user := principal(r.Context()).User
	// Before the build starts: a refused candidate must leave no build running.
	if err := s.store.CheckNewCandidate(r.Context(), p.ID, version, n); err != nil {
		return err
	}
	var runID int64
	if in.TriggerBuild || in.TriggerBuildWorkflow {
		pl := in.BuildPipeline
		if pl == "" {
			rs, err := s.store.ReleaseSettings(r.Context(), p.ID)
			if err != nil {
				return err
			}
			pl = rs.BuildPipeline
		}
		run, err := s.dispatch.Trigger(r.Context(), principal(r.Context()).actor(), trigger.Request{Pipeline: pl, Ref: in.Commit})
		if err != nil {
			return err
		}
		runID = run.ID
	}
	if _, err := s.store.CreateCandidate(r.Context(), p.ID, version, n, in.Commit, runID, user); err != nil {
		return err
	}
	rl, err := s.store.Release(r.Context(), p.ID, version)
	if err != nil {
		return err
	}
	// The candidate as stored: 1.0.0-rc01 is 1.0.0-rc1.
	s.audit(r, user, "release.created", p, map[string]any{"version": fmt.Sprintf("%s-rc%d", version, n), "commit": in.Commit})
	w.Header().Set("Location", "/api/v1/projects/"+p.Name+"/releases/"+version)
	writeJSON(w, http.StatusCreated, rl)
	return nil
}

// listReleases serves a page of a project's releases, newest first.
func (s *Server) listReleases(w http.ResponseWriter, r *http.Request) error {
	before, limit, err := pageParams(r)
	if err != nil {
		return err
	}
	page, err := s.store.Releases(r.Context(), projectOf(r).ID, before, limit)
	return respond(w, http.StatusOK, page, err)
}

// releaseVersion is the release a path names: VERSION, or VERSION-rcN.
func releaseVersion(v string) string {
	if m := candidateVersion().FindStringSubmatch(v); m != nil {
		return m[1]
	}
	return v
}

func (s *Server) getRelease(w http.ResponseWriter, r *http.Request) error {
	rl, err := s.store.Release(r.Context(), projectOf(r).ID, releaseVersion(r.PathValue("version")))
	return respond(w, http.StatusOK, rl, err)
}

// finalRelease marks a release final.
func (s *Server) finalRelease(w http.ResponseWriter, r *http.Request) error {
	p := projectOf(r)
	v := releaseVersion(r.PathValue("version"))
	if err := s.store.MarkFinal(r.Context(), p.ID, v); err != nil {
		return err
	}
	s.audit(r, principal(r.Context()).User, "release.final", p, map[string]any{"version": v})
	rl, err := s.store.Release(r.Context(), p.ID, v)
	return respond(w, http.StatusOK, rl, err)
}
