package trigger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/pipeline"
	"github.com/lathe-ci/lathe/tool"
)

// ToolErrors is every problem with the tool steps of a run being planned:
// a tool or version not published, a parameter missing, unknown or of the
// wrong type. It wraps lathe.ErrInvalid.
type ToolErrors []string

func (e ToolErrors) Error() string { return strings.Join(e, "\n") }

// Unwrap makes a ToolErrors an lathe.ErrInvalid.
func (e ToolErrors) Unwrap() error { return lathe.ErrInvalid }

// resolveTools checks each tool step of the jobs against the published
// manifest of the tool it uses and pins it: its parameters complete
// (defaults filled in), the archive's SHA-256 and the entry point. The
// jobs' steps are copied first: the parsed pipeline they came from is
// cached and shared.
func (s *Service) resolveTools(ctx context.Context, jobs []*lathe.Job) error {
	var problems ToolErrors
	manifests := map[string]*lathe.Tool{}
	for _, j := range jobs {
		copied := false
		for i, step := range j.Steps {
			if step.Action == nil || step.Action.Kind != lathe.ActionTool {
				continue
			}
			if !copied {
				j.Steps, copied = append([]lathe.StepDef(nil), j.Steps...), true
			}
			where := fmt.Sprintf("job %s, step %d (%s)", j.Name, i+1, step.Name)
			ref := step.Action.Tool
			t, ok := manifests[ref]
			if !ok {
				name, version, err := lathe.ParseToolRef(ref)
				if err != nil {
					problems = append(problems, fmt.Sprintf("%s: uses: %v", where, err))
					continue
				}
				t, err = s.Store.Tool(ctx, name, version)
				switch {
				case errors.Is(err, lathe.ErrNotFound):
					problems = append(problems, fmt.Sprintf("%s: uses: tool %s is not published on this server (see `lathe tool list`)", where, ref))
					continue
				case err != nil:
					return err
				}
				manifests[ref] = t
			}
			var m tool.Manifest
			if err := json.Unmarshal(t.Manifest, &m); err != nil {
				return fmt.Errorf("tool %s: its manifest on record: %w", ref, err)
			}
			inputs, err := m.Inputs(step.Action.With)
			if err != nil {
				problems = append(problems, fmt.Sprintf("%s: %v", where, err))
				continue
			}
			a := *step.Action
			a.With, a.ToolSHA256, a.Entrypoint = inputs, t.SHA256, m.Entrypoint
			j.Steps[i].Action = &a
		}
	}
	if len(problems) > 0 {
		return problems
	}
	return nil
}

// CheckTools checks the tool steps of planned jobs as starting a run would
// (see resolveTools), without changing them: for plan previews.
func (s *Service) CheckTools(ctx context.Context, jobs []*pipeline.Job) error {
	rows := make([]*lathe.Job, len(jobs))
	for i, j := range jobs {
		rows[i] = &lathe.Job{Name: j.Name, Steps: j.Steps}
	}
	return s.resolveTools(ctx, rows)
}
