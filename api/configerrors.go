package api

import (
	"net/http"

	lathe "github.com/lathe-ci/lathe"
)

// listConfigErrors serves the pipeline configuration problems last met per
// branch of a project (Zuul's config-errors), optionally of one branch, and
// of one severity (?severity=error|warning: a branch with none of it is
// left out).
func (s *Server) listConfigErrors(w http.ResponseWriter, r *http.Request) error {
	p := projectOf(r)
	severity := queryValue(r, "severity")
	if severity != "" && severity != "error" && severity != "warning" {
		return problemf(http.StatusBadRequest, "severity: %q is not error or warning", severity)
	}
	errs, err := s.store.ConfigErrors(r.Context(), p.ID, r.URL.Query().Get("branch"))
	if err != nil || severity == "" {
		return respond(w, http.StatusOK, map[string]any{"items": errs}, err)
	}
	kept := []*lathe.ConfigErrors{}
	for _, ce := range errs {
		var problems []lathe.ConfigProblem
		for _, e := range ce.Errors {
			if e.Severity == severity {
				problems = append(problems, e)
			}
		}
		if len(problems) > 0 {
			ce.Errors = problems
			kept = append(kept, ce)
		}
	}
	return respond(w, http.StatusOK, map[string]any{"items": kept}, nil)
}
