package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"sync"

	lathe "github.com/lathe-ci/lathe"
)

// Branches (Kraken's): the branches of a project that runs and hooks have
// shown the server. The name is the rest of the path, so that
// /branches/release/1.x works as written; release%2F1.x (as the OpenAPI
// document's one-segment parameter has it) means the same.

var envName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`) })

// Limits of a branch's settings.
const (
	maxBranchEnv      = 100
	maxBranchEnvValue = 4096
	maxKeepRuns       = 1_000_000
	maxKeepDays       = 36500
)

// branchInput changes a branch's settings: absent fields keep their value;
// env replaces the whole list (null or [] clears it); keep_runs and
// keep_days set to null go back to the server's default.
type branchInput struct {
	Env      *[]lathe.EnvVar `json:"env"`
	KeepRuns json.RawMessage `json:"keep_runs"`
	KeepDays json.RawMessage `json:"keep_days"`
	// Retention changes the fields it holds; null sets one back to
	// keeping forever.
	Retention *struct {
		CILogs          json.RawMessage `json:"ci_logs"`
		CIArtifacts     json.RawMessage `json:"ci_artifacts"`
		ManualLogs      json.RawMessage `json:"manual_logs"`
		ManualArtifacts json.RawMessage `json:"manual_artifacts"`
	} `json:"retention"`
}

// apply checks the input and applies it to set.
func (in branchInput) apply(set *lathe.BranchSettings) error {
	if in.Env != nil {
		env := *in.Env
		if len(env) > maxBranchEnv {
			return problemf(http.StatusBadRequest, "env: %d variables; at most %d", len(env), maxBranchEnv)
		}
		seen := map[string]bool{}
		for i, v := range env {
			switch {
			case !envName().MatchString(v.Name) || len(v.Name) > 128:
				return problemf(http.StatusBadRequest, "env[%d].name: %q is not a variable name: start with a letter or '_', then letters, digits or '_'", i, v.Name)
			case strings.HasPrefix(strings.ToUpper(v.Name), "LATHE_"):
				return problemf(http.StatusBadRequest, "env[%d].name: %q: LATHE_ variables are set by the server", i, v.Name)
			case seen[v.Name]:
				return problemf(http.StatusBadRequest, "env[%d].name: %q is set twice", i, v.Name)
			case len(v.Value) > maxBranchEnvValue || strings.ContainsRune(v.Value, 0):
				return problemf(http.StatusBadRequest, "env[%d].value of %s: at most %d bytes, no NUL", i, v.Name, maxBranchEnvValue)
			}
			seen[v.Name] = true
		}
		set.Env = env
	}
	if set.Env == nil {
		set.Env = []lathe.EnvVar{}
	}
	type field struct {
		name string
		raw  json.RawMessage
		max  int
		to   **int
	}
	fields := []field{{"keep_runs", in.KeepRuns, maxKeepRuns, &set.KeepRuns}, {"keep_days", in.KeepDays, maxKeepDays, &set.KeepDays}}
	if rt, to := in.Retention, &set.Retention; rt != nil {
		fields = append(fields, field{"retention.ci_logs", rt.CILogs, maxKeepDays, &to.CILogs},
			field{"retention.ci_artifacts", rt.CIArtifacts, maxKeepDays, &to.CIArtifacts},
			field{"retention.manual_logs", rt.ManualLogs, maxKeepDays, &to.ManualLogs},
			field{"retention.manual_artifacts", rt.ManualArtifacts, maxKeepDays, &to.ManualArtifacts})
	}
	for _, f := range fields {
		if len(f.raw) == 0 {
			continue
		}
		if bytes.Equal(f.raw, []byte("null")) {
			*f.to = nil
			continue
		}
		var n int
		if err := json.Unmarshal(f.raw, &n); err != nil || n < 1 || n > f.max {
			return problemf(http.StatusBadRequest, "%s: %s must be a whole number from 1 to %d, or null for the server's default", f.name, f.raw, f.max)
		}
		*f.to = &n
	}
	return nil
}

func (s *Server) listBranches(w http.ResponseWriter, r *http.Request) error {
	before, limit, err := pageParams(r)
	if err != nil {
		return err
	}
	page, err := s.store.Branches(r.Context(), projectOf(r).ID, before, limit)
	return respond(w, http.StatusOK, page, err)
}

func (s *Server) getBranch(w http.ResponseWriter, r *http.Request) error {
	b, err := s.store.Branch(r.Context(), projectOf(r).ID, r.PathValue("branch"))
	return respond(w, http.StatusOK, b, err)
}

// updateBranch changes a branch's settings. Its env reaches every job of
// the branch's runs, those holding its secrets included, where a variable
// such as BASH_ENV or LD_PRELOAD runs code: so it takes what changing the
// project's secrets takes, an owner.
func (s *Server) updateBranch(w http.ResponseWriter, r *http.Request) error {
	var in branchInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	p, name := projectOf(r), r.PathValue("branch")
	b, err := s.store.Branch(r.Context(), p.ID, name)
	if err != nil {
		return err
	}
	if err := in.apply(&b.Settings); err != nil {
		return err
	}
	if err := s.store.SetBranchSettings(r.Context(), p.ID, name, b.Settings); err != nil {
		return err
	}
	names := []string{}
	for _, v := range b.Settings.Env {
		names = append(names, v.Name)
	}
	s.audit(r, principal(r.Context()).User, "branch.updated", p, map[string]any{"branch": name, "env": names,
		"keep_runs": b.Settings.KeepRuns, "keep_days": b.Settings.KeepDays, "retention": b.Settings.Retention})
	b, err = s.store.Branch(r.Context(), p.ID, name)
	return respond(w, http.StatusOK, b, err)
}

// deleteBranch forgets a branch and its settings (owner, as it drops
// them); its runs stay.
func (s *Server) deleteBranch(w http.ResponseWriter, r *http.Request) error {
	p, name := projectOf(r), r.PathValue("branch")
	if err := s.store.DeleteBranch(r.Context(), p.ID, name); err != nil {
		return err
	}
	s.audit(r, principal(r.Context()).User, "branch.deleted", p, map[string]any{"branch": name})
	return noContent(w, nil)
}
