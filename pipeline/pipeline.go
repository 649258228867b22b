package pipeline

import (
	"time"

	"github.com/lathe-ci/lathe"
)

// DefaultStage is the stage every job belongs to when a pipeline declares no
// stages.
const DefaultStage = "default"

// DefaultTimeout bounds a job that sets no timeout.
const DefaultTimeout = 60 * time.Minute

// MaxTimeout is the longest timeout a job may ask for.
const MaxTimeout = 72 * time.Hour

// File is one pipeline file as read from a commit.
type File struct {
	// Path is the file's path in the repository, such as ".lathe.yml" or
	// ".lathe/deploy.yml".
	Path string
	// Data is the file's content.
	Data []byte
}

// Pipeline is one validated pipeline: a set of jobs grouped into ordered
// stages.
type Pipeline struct {
	// Name is the `name:` key, or derived from the file: ".lathe/deploy.yml"
	// is "deploy" and ".lathe.yml" is "main".
	Name string
	// File is the path the pipeline was read from.
	File string
	// Stages lists the stages in declared order; it is [DefaultStage] when
	// the file declares none.
	Stages []string
	// Env is the pipeline-level environment, in file order.
	Env []lathe.EnvVar
	// Jobs lists the jobs in file order.
	Jobs []*Job
}

// Job is one job of a pipeline, with its dependencies worked out.
type Job struct {
	// Name is the job's key under `jobs:`.
	Name string
	// Stage is the stage the job runs in.
	Stage string
	// Needs is the `needs:` list as written: nil when the key is absent,
	// empty (not nil) for `needs: []`.
	Needs []string
	// Deps are the jobs this one waits for: Needs when `needs:` is given
	// (so `needs: []` means none), otherwise every job of all earlier
	// stages, in stage order and then file order. Never nil.
	Deps []string
	// RunsOn lists the agent labels the job requires.
	RunsOn []string
	// Timeout bounds one attempt of the job; DefaultTimeout when unset.
	Timeout time.Duration
	// Env is the job's own environment, in file order. The caller applies
	// the pipeline's Env first and lets these override it.
	Env []lathe.EnvVar
	// Steps are the commands to run, in order.
	Steps []lathe.StepDef
	// Line is the line of the job's key in the file.
	Line int
}

// Job returns the job called name, or nil when there is none.
func (p *Pipeline) Job(name string) *Job {
	for _, j := range p.Jobs {
		if j.Name == name {
			return j
		}
	}
	return nil
}
