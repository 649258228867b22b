// Package trigger turns "build this ref of this project" into runs: it
// resolves the ref to a commit, reads the pipeline files at that commit,
// parses them with the pipeline package and stores the run with its stages
// and jobs. The API, and later webhooks and schedules, all start runs here.
package trigger

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/git"
	"github.com/lathe-ci/lathe/pipeline"
	"github.com/lathe-ci/lathe/secret"
	"github.com/lathe-ci/lathe/store"
)

// Service starts runs.
type Service struct {
	Store   *store.Store
	Mirrors *git.Mirrors
	// Policy says which repositories projects may read; Keys open their
	// URLs' credentials.
	Policy git.Policy
	Keys   *secret.Keyring
	// Log hears of what fails after a run is stored (auto_cancel's
	// cancels); nil: slog.Default().
	Log *slog.Logger

	cache pipelineCache
}

// Request asks for a run of one pipeline at one ref.
type Request struct {
	Ref      string // branch, tag, full ref or commit ID; empty: the project's default branch
	Pipeline string // empty: the only pipeline of the commit
	Event    string // push, manual, …; empty: manual
	// Params are the values given for the pipeline's parameters, by name;
	// defaults fill the rest.
	Params map[string]string
	// Gate, when set, is the approval gate every job of the run that waits
	// for no other job gets (a protected environment's deployment); a
	// job's own gate stays.
	Gate *lathe.Approval
	// By is the user asking for the run ("" for none); Candidate the
	// release candidate it is for (its build or a deployment of it, 0 for
	// none); Deploys the environment whose deployment it is the deploy run
	// of. See deployJobs.
	By        string
	Candidate int64
	Deploys   string
	// PullRequest is the number of the pull request whose head Ref is,
	// for a pull_request event; 0 otherwise.
	PullRequest int64
}

// ConfigError is returned when the pipeline files at a commit are broken.
type ConfigError struct {
	Commit string
	// Ref is the ref that was read (its Commit is Commit).
	Ref  git.Ref
	Errs pipeline.ErrorList
}

func (e *ConfigError) Error() string {
	if e.Commit == "" {
		return "the posted pipeline is invalid:\n" + e.Errs.Error()
	}
	return fmt.Sprintf("pipeline configuration at %.12s is invalid:\n%s", e.Commit, e.Errs.Error())
}

func (e *ConfigError) Unwrap() error { return lathe.ErrInvalid }

// Pipelines resolves ref and returns the pipelines defined at that commit.
// When some of its pipeline files are broken, the error is a ConfigError
// naming their problems, and ref and the pipelines of the sound files come
// with it (see soundPipelines and runsDespite).
func (s *Service) Pipelines(ctx context.Context, p *lathe.Project, ref string) (git.Ref, []*pipeline.Pipeline, error) {
	if ref == "" {
		ref = p.DefaultBranch
	}
	m, hold, done, err := s.mirror(ctx, p)
	if err != nil {
		return git.Ref{}, nil, err
	}
	defer done()
	r, err := m.ResolveHeld(ctx, ref, hold)
	if err != nil {
		return git.Ref{}, nil, fmt.Errorf("%w: %v", lathe.ErrInvalid, err)
	}
	r, ps, err := s.pipelinesOf(ctx, p, m, r)
	return s.withStored(ctx, p, r, ps, err)
}

// PipelinesAt is Pipelines for a commit a forge's hook named at a full
// ref: the mirror fetches that commit alone, and the remote is not asked
// where the ref points now.
func (s *Service) PipelinesAt(ctx context.Context, p *lathe.Project, ref, commit string) (git.Ref, []*pipeline.Pipeline, error) {
	m, hold, done, err := s.mirror(ctx, p)
	if err != nil {
		return git.Ref{}, nil, err
	}
	defer done()
	r, err := m.FetchCommit(ctx, ref, commit, hold)
	if err != nil {
		return git.Ref{}, nil, fmt.Errorf("%w: %v", lathe.ErrInvalid, err)
	}
	r, ps, err := s.pipelinesOf(ctx, p, m, r)
	return s.withStored(ctx, p, r, ps, err)
}

// pipelinesOf reads and parses the pipelines at r, a commit m holds.
func (s *Service) pipelinesOf(ctx context.Context, p *lathe.Project, m *git.Mirror, r git.Ref) (git.Ref, []*pipeline.Pipeline, error) {
	if ps, ok := s.cache.get(p.URL, r.Commit); ok {
		return r, ps, nil
	}
	// Most commits leave the pipeline files as they were: the same files
	// parse the same, so they are not read again. A commit just fetched
	// shows them without git (TopEntries); else git lists them.
	top, topKnown := m.TopEntries(r.Commit, pipelinePaths)
	topKey := entriesKey(top)
	if ps, ok := s.cache.get(p.URL, topKey); ok && topKnown {
		return s.samePipelines(ctx, p, r, ps)
	}
	// A file's size is checked in git before it is read: a 400 MB
	// .lathe.yml becomes a config error, never the server's memory.
	list, err := m.ListFiles(ctx, r.Commit, pipelinePaths)
	if err != nil {
		return git.Ref{}, nil, fmt.Errorf("read pipeline files at %s: %w", r.Commit, err)
	}
	var tooLarge pipeline.ErrorList
	var want []git.File
	for _, f := range list {
		switch {
		case !pipeline.IsFile(f.Path):
		case f.Size > pipeline.MaxFileSize:
			tooLarge = append(tooLarge, pipeline.TooLarge(f.Path, f.Size))
		default:
			want = append(want, f)
		}
	}
	same := filesKey(want)
	if ps, ok := s.cache.get(p.URL, same); ok && len(tooLarge) == 0 {
		if topKnown {
			s.cache.put(p.URL, topKey, ps)
		}
		return s.samePipelines(ctx, p, r, ps)
	}
	files, err := m.ReadBlobs(ctx, want)
	if err != nil {
		return git.Ref{}, nil, fmt.Errorf("read pipeline files at %s: %w", r.Commit, err)
	}
	if len(files) == 0 && len(tooLarge) == 0 {
		return r, nil, errNoFiles{r.Commit}
	}
	var in []pipeline.File
	for name, data := range files {
		in = append(in, pipeline.File{Path: name, Data: data})
	}
	sort.Slice(in, func(i, j int) bool { return in[i].Path < in[j].Path })
	ps, err := pipeline.Parse(in)
	el, broken := err.(pipeline.ErrorList)
	if err != nil && !broken {
		return git.Ref{}, nil, err
	}
	if len(tooLarge) > 0 {
		el, broken = append(tooLarge, el...), true
	}
	if r.Branch != "" {
		// What the branch's files say now is what its users need to see,
		// whoever asked for the read.
		if err := s.Store.SetConfigErrors(ctx, p.ID, r.Branch, r.Commit, problems(el)); err != nil {
			return git.Ref{}, nil, err
		}
	}
	if broken {
		return r, soundPipelines(in, el), &ConfigError{Commit: r.Commit, Ref: r, Errs: el}
	}
	s.cache.put(p.URL, r.Commit, ps)
	if len(want) > 0 {
		s.cache.put(p.URL, same, ps)
		if topKnown {
			s.cache.put(p.URL, topKey, ps)
		}
	}
	return r, ps, nil
}

// soundPipelines parses again the files of in that no error of el names:
// the pipelines of a commit's sound files, which still run while another
// file is broken (one teammate's broken pipeline file does not stop every
// other pipeline of the branch). None when an error names no file (it
// may concern them all), or when the sound files do not parse alone (one
// of them needs a broken one, as an after: naming its pipeline does).
func soundPipelines(in []pipeline.File, el pipeline.ErrorList) []*pipeline.Pipeline {
	bad := map[string]bool{}
	for _, e := range el {
		if e.File == "" {
			return nil
		}
		bad[e.File] = true
	}
	var sound []pipeline.File
	for _, f := range in {
		if !bad[f.Path] {
			sound = append(sound, f)
		}
	}
	if len(sound) == 0 {
		return nil
	}
	ps, err := pipeline.Parse(sound)
	if err != nil {
		return nil
	}
	return ps
}

// runsDespite reports whether err, from Pipelines, only says that other
// pipeline files of the commit are broken: the pipeline named name (any,
// when name is "") is among ps, the pipelines of its sound files, and may
// run.
func runsDespite(err error, ps []*pipeline.Pipeline, name string) bool {
	var broken *ConfigError
	if !errors.As(err, &broken) || len(ps) == 0 {
		return false
	}
	return name == "" || slices.ContainsFunc(ps, func(pl *pipeline.Pipeline) bool { return pl.Name == name })
}

// noSuchPipeline reports whether err, from Pipelines, says other files of
// the commit are broken while name is neither a sound file's pipeline nor,
// by its file's name, a broken file's: a typo is then said as such, not
// as the broken files' problems.
func noSuchPipeline(err error, ps []*pipeline.Pipeline, name string) bool {
	var broken *ConfigError
	if name == "" || len(ps) == 0 || !errors.As(err, &broken) || runsDespite(err, ps, name) {
		return false
	}
	for _, e := range broken.Errs {
		if pipeline.NameFromFile(e.File) == name {
			return false
		}
	}
	return true
}

// pipelinePaths are where a commit's pipeline files are.
var pipelinePaths = []string{".lathe.yml", ".lathe.yaml", ".lathe"}

// samePipelines answers for commit r with ps, parsed from the same files
// at another commit: the files parsed cleanly, so the branch has no
// config errors.
func (s *Service) samePipelines(ctx context.Context, p *lathe.Project, r git.Ref, ps []*pipeline.Pipeline) (git.Ref, []*pipeline.Pipeline, error) {
	if r.Branch != "" {
		if err := s.Store.SetConfigErrors(ctx, p.ID, r.Branch, r.Commit, nil); err != nil {
			return git.Ref{}, nil, err
		}
	}
	s.cache.put(p.URL, r.Commit, ps)
	return r, ps, nil
}

// entriesKey names the top entries of a tree that hold pipeline files
// (see git.Mirror.TopEntries), for the cache beside commit IDs.
func entriesKey(top map[string]string) string {
	var b strings.Builder
	b.WriteString("top")
	for _, name := range pipelinePaths {
		b.WriteString("\x00" + top[name])
	}
	return b.String()
}

// filesKey names a set of pipeline files by their paths and contents' IDs,
// for the cache beside commit IDs.
func filesKey(files []git.File) string {
	var b strings.Builder
	b.WriteString("files")
	for _, f := range files {
		b.WriteString("\x00" + f.Path + "\x00" + f.Blob)
	}
	return b.String()
}

// problems converts the parser's errors for storage.
func problems(el pipeline.ErrorList) []lathe.ConfigProblem {
	out := make([]lathe.ConfigProblem, 0, len(el))
	for _, e := range el {
		out = append(out, lathe.ConfigProblem{File: e.File, Line: e.Line, Column: e.Column, Field: e.Field,
			Message: e.Message, Severity: "error"})
	}
	return out
}

// Trigger creates a run for the request and queues its first jobs. The
// pipeline must run on the request's event (its `on:`).
func (s *Service) Trigger(ctx context.Context, p *lathe.Project, req Request) (*lathe.Run, error) {
	ref, ps, err := s.Pipelines(ctx, p, req.Ref)
	if err != nil && (req.Pipeline == "" || !runsDespite(err, ps, req.Pipeline)) {
		if noSuchPipeline(err, ps, req.Pipeline) {
			_, err = pipeline.Choose(ps, req.Pipeline) // says which there are
		}
		return nil, err
	}
	pl, err := pipeline.Choose(ps, req.Pipeline)
	if err != nil {
		return nil, err
	}
	event := req.Event
	if event == "" {
		event = pipeline.EventManual
	}
	return s.start(ctx, p, pl, ref, launch{event: event, params: req.Params, pullRequest: req.PullRequest, gate: req.Gate,
		by: req.By, candidate: req.Candidate, deploys: req.Deploys})
}

// errNoJobs is a plan whose conditions leave out every job: a user asking
// for the run hears why (it is ErrInvalid), an event just starts nothing.
var errNoJobs = fmt.Errorf("%w", lathe.ErrInvalid)

// launch is how a run starts: the event its pipeline's `on:` and `when:`
// see, its parameters, and for a run started by another run, that run.
type launch struct {
	event    string
	params   map[string]string
	upstream string // the pipeline whose success started this one
	// untrusted runs get no secrets and wait for their commit's approval.
	untrusted bool
	// pullRequest is the number of the pull request the run builds, if any.
	pullRequest int64
	parent      *int64
	// recordAs is the run's event when it differs from what conditions see
	// (a re-run is planned as its parent's event).
	recordAs string
	// fromAPI marks a run of a pipeline posted through the API.
	fromAPI bool
	// gate is Request.Gate.
	gate *lathe.Approval
	// by, candidate and deploys are Request's By, Candidate and Deploys.
	by        string
	candidate int64
	deploys   string
}

// start plans pl for the launch at ref and stores the run.
func (s *Service) start(ctx context.Context, p *lathe.Project, pl *pipeline.Pipeline, ref git.Ref, l launch) (*lathe.Run, error) {
	ev := pipeline.Event{Kind: l.event, Branch: ref.Branch, Ref: ref.Ref, Commit: ref.Commit, Tag: ref.Tag(), Upstream: l.upstream}
	switch l.event {
	case pipeline.EventPush:
		ev.Changed = s.changed(ctx, p, pl.Name, ref)
	case pipeline.EventPullRequest:
		ev.Changed = s.changedSinceMergeBase(ctx, p, ref)
	}
	if l.recordAs == "" && !l.fromAPI && !pl.Triggers.Matches(ev) {
		return nil, fmt.Errorf("pipeline %s does not run on %s events; add %s to its on: %w", pl.Name, l.event, l.event, lathe.ErrInvalid)
	}
	nr, err := PlanFor(pl, pipeline.PlanInput{Params: l.params, Event: ev})
	if err != nil {
		return nil, err
	}
	nr.MaxRuns, nr.NumberPerBranch = pl.MaxRuns, pl.NumberPerBranch
	if l.fromAPI {
		if err := refuseSecrets(pl.Name, nr.Jobs); err != nil {
			return nil, err
		}
	}
	if len(nr.Jobs) == 0 {
		return nil, fmt.Errorf("no job of pipeline %s runs for this %s event (their conditions are false): %w", pl.Name, l.event, errNoJobs)
	}
	event := l.event
	if l.recordAs != "" {
		event = l.recordAs
	}
	nr.Run.ProjectID, nr.Run.Project = p.ID, p.Name
	nr.Run.Ref, nr.Run.Branch, nr.Run.Commit, nr.Run.Event, nr.Run.ParentID = ref.Ref, ref.Branch, ref.Commit, event, l.parent
	nr.Run.Untrusted, nr.Run.PullRequest, nr.Run.PipelineFromAPI = l.untrusted, l.pullRequest, l.fromAPI
	if l.untrusted {
		routeUntrusted(nr.Jobs, p.UntrustedLabels)
	}
	if err := s.addBranchEnv(ctx, p, ref, l, nr.Jobs); err != nil {
		return nil, err
	}
	if err := s.resolveTools(ctx, nr.Jobs); err != nil {
		return nil, err
	}
	if err := s.deployJobs(ctx, p, l, &nr); err != nil {
		return nil, err
	}
	gateRoots(nr.Jobs, l.gate)
	if err := s.Store.CreateRun(ctx, nr); err != nil {
		return nil, err
	}
	if pl.AutoCancel {
		s.supersede(ctx, nr.Run)
	}
	if l.movesBranch() && ref.Branch != "" {
		// The ref was resolved just now: it is the branch's head.
		if err := s.Store.BranchMoved(ctx, p.ID, ref.Branch, ref.Commit); err != nil {
			return nr.Run, fmt.Errorf("run %d started; tracking its branch failed: %w", nr.Run.ID, err)
		}
	}
	return nr.Run, nil
}

// routeUntrusted adds the project's untrusted labels to the runs-on of
// each job of an untrusted run: the fork's own file chooses its labels,
// and these keep its code on the agents kept for it whatever it chooses.
func routeUntrusted(jobs []*lathe.Job, labels []string) {
	for _, j := range jobs {
		runsOn := slices.Clone(j.RunsOn) // the parsed pipeline's, shared
		for _, l := range labels {
			if !slices.Contains(runsOn, l) {
				runsOn = append(runsOn, l)
			}
		}
		j.RunsOn = runsOn
	}
}

// supersede cancels the older runs that run, a new run of a pipeline that
// says `auto_cancel: true`, replaces. The new run stands whatever happens
// to the old ones, so a failure is logged, not returned.
func (s *Service) supersede(ctx context.Context, run *lathe.Run) {
	canceled, err := s.Store.CancelSuperseded(ctx, run)
	log := s.Log
	if log == nil {
		log = slog.Default()
	}
	if err != nil {
		log.Error("auto_cancel", "run_id", run.ID, "pipeline", run.Pipeline, "err", err)
	}
	if len(canceled) > 0 {
		log.Info("auto_cancel: superseded runs canceled", "run_id", run.ID, "pipeline", run.Pipeline, "canceled", canceled)
	}
}

// PlanFor turns a parsed pipeline into the stages and jobs of a new run for
// an event: matrices expanded, conditions applied, extends merged, each
// job's environment complete (see pipeline.Pipeline.Plan). Its only error
// is a pipeline.ParamErrors.
func PlanFor(pl *pipeline.Pipeline, in pipeline.PlanInput) (store.NewRun, error) {
	plan, err := pl.Plan(in)
	if err != nil {
		return store.NewRun{}, err
	}
	nr := newRun(pl, plan.Stages, plan.Jobs)
	nr.ExternalStages = plan.ExternalStages
	for _, pv := range plan.Params {
		nr.Run.Params = append(nr.Run.Params, lathe.EnvVar{Name: pv.Name, Value: pv.Value.Text()})
	}
	return nr, nil
}

// newRun builds the run's rows from planned jobs, whose Env is complete.
func newRun(pl *pipeline.Pipeline, stages []string, jobs []*pipeline.Job) store.NewRun {
	nr := store.NewRun{Run: &lathe.Run{Pipeline: pl.Name}, Stages: stages}
	for _, j := range jobs {
		nr.Jobs = append(nr.Jobs, &lathe.Job{
			Name:       j.Name,
			Stage:      j.Stage,
			Needs:      j.Needs,
			Deps:       j.Deps,
			RunsOn:     j.RunsOn,
			TimeoutSec: j.TimeoutSec(),
			Env:        j.Env,
			Steps:      j.Steps,
			// A copy: the parsed pipeline is cached and shared.
			Concurrency:  copyConcurrency(j.Concurrency),
			Secrets:      jobSecrets(j.Secrets),
			AllowFailure: j.AllowFailure,
			Retry:        jobRetry(j.Retry),
			Approval:     jobApproval(j.Approval),
			Environment:  environmentName(j.Environment),
			Container:    j.Container,
			Reports:      reportGlobs(j.Reports),
		})
	}
	return nr
}

// reportGlobs are a job's `reports:` as its agent gets them (nil for none).
func reportGlobs(r *pipeline.Reports) *lathe.ReportGlobs {
	if r == nil || len(r.JUnit)+len(r.Issues) == 0 {
		return nil
	}
	return &lathe.ReportGlobs{JUnit: append([]string(nil), r.JUnit...), Issues: append([]string(nil), r.Issues...)}
}

func jobRetry(r pipeline.Retry) *lathe.Retry {
	if r.Count == 0 {
		return nil
	}
	return &lathe.Retry{Count: r.Count, On: append([]string(nil), r.On...)}
}

func jobApproval(a *pipeline.Approval) *lathe.Approval {
	if a == nil {
		return nil
	}
	return &lathe.Approval{From: append([]string{}, a.From...), Message: a.Message}
}

func environmentName(e *pipeline.Environment) string {
	if e == nil {
		return ""
	}
	return e.Name
}

func copyConcurrency(c *pipeline.Concurrency) *lathe.Concurrency {
	if c == nil {
		return nil
	}
	v := *c
	return &v
}

// pipelineCache keeps the parsed pipelines of recent commits, and of
// recent sets of pipeline files (see filesKey): a commit's files never
// change, so the same commit is never read or parsed twice, nor the same
// files.
type pipelineCache struct {
	mu sync.Mutex
	m  map[string][]*pipeline.Pipeline
}

const pipelineCacheSize = 512

func (c *pipelineCache) get(url, commit string) ([]*pipeline.Pipeline, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ps, ok := c.m[url+"\x00"+commit]
	return ps, ok
}

func (c *pipelineCache) put(url, commit string, ps []*pipeline.Pipeline) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= pipelineCacheSize {
		c.m = map[string][]*pipeline.Pipeline{}
	}
	c.m[url+"\x00"+commit] = ps
}
