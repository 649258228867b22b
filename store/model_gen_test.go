package store_test

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// The model-based test's inputs: a random pipeline (rendered as the YAML a
// project would keep, and planned by the same code the server uses) and a
// random sequence of events. Both are plain data, so a failing case can be
// shrunk by editing them and printed for a person to replay.

// modelJob is one job of a generated pipeline.
type modelJob struct {
	// Needs are indexes of earlier jobs (so the graph is a DAG).
	Needs []int
	// Matrix is the number of values of the job's one matrix axis (0: none).
	Matrix int
	// Retry is the job's retry count; RetryOn the failures it covers.
	Retry   int
	RetryOn []string
	// Approval is 0 (no gate), 1 (approval: true) or 2 (approval from a user).
	Approval     int
	AllowFailure bool
	// Group names the job's semaphore ("" for none), Limit its limit.
	Group string
	Limit int
	// Secret makes the job name a secret, which an untrusted run must not get.
	Secret bool
	// GPU makes the job run only on agents labelled gpu.
	GPU bool
	// Timeout is the job's timeout in minutes.
	Timeout int
}

// modelPipeline is a generated pipeline and how its first run starts.
type modelPipeline struct {
	Jobs []modelJob
	// Untrusted starts the first run as a fork's pull request would: behind
	// the trust gate, without secrets.
	Untrusted bool
}

func jobName(i int) string { return fmt.Sprintf("j%d", i) }

// YAML renders the pipeline as a pipeline file.
func (p modelPipeline) YAML() string {
	var b strings.Builder
	b.WriteString("name: model\njobs:\n")
	for i, j := range p.Jobs {
		fmt.Fprintf(&b, "  %s:\n", jobName(i))
		runsOn := "[linux]"
		if j.GPU {
			runsOn = "[linux, gpu]"
		}
		fmt.Fprintf(&b, "    runs-on: %s\n    timeout: %dm\n", runsOn, j.Timeout)
		if len(j.Needs) > 0 {
			names := make([]string, len(j.Needs))
			for k, n := range j.Needs {
				names[k] = jobName(n)
			}
			fmt.Fprintf(&b, "    needs: [%s]\n", strings.Join(names, ", "))
		}
		if j.Matrix > 0 {
			vals := make([]string, j.Matrix)
			for k := range vals {
				vals[k] = string(rune('a' + k))
			}
			fmt.Fprintf(&b, "    matrix: {v: [%s]}\n", strings.Join(vals, ", "))
		}
		if j.Retry > 0 {
			fmt.Fprintf(&b, "    retry: {count: %d, on: [%s]}\n", j.Retry, strings.Join(j.RetryOn, ", "))
		}
		switch j.Approval {
		case 1:
			b.WriteString("    approval: true\n")
		case 2:
			b.WriteString("    approval: {from: [carol]}\n")
		}
		if j.AllowFailure {
			b.WriteString("    allow_failure: true\n")
		}
		if j.Group != "" {
			fmt.Fprintf(&b, "    concurrency: {group: %s, limit: %d}\n", j.Group, j.Limit)
		}
		if j.Secret {
			b.WriteString("    secrets: [API_KEY]\n")
		}
		fmt.Fprintf(&b, "    steps: [make %s]\n", jobName(i))
	}
	return b.String()
}

// genPipeline draws a pipeline of 1 to 6 jobs.
func genPipeline(r *rand.Rand) modelPipeline {
	p := modelPipeline{Untrusted: r.IntN(4) == 0}
	n := 1 + r.IntN(6)
	for i := range n {
		j := modelJob{Timeout: 1 + r.IntN(5)}
		for k := range i {
			if r.IntN(3) == 0 {
				j.Needs = append(j.Needs, k)
			}
		}
		if r.IntN(5) == 0 {
			j.Matrix = 2 + r.IntN(2)
		}
		if r.IntN(3) == 0 {
			j.Retry = 1 + r.IntN(2)
			for _, on := range []string{"failure", "infrastructure", "timeout"} {
				if r.IntN(2) == 0 {
					j.RetryOn = append(j.RetryOn, on)
				}
			}
			if len(j.RetryOn) == 0 {
				j.RetryOn = []string{"failure"}
			}
		}
		if r.IntN(5) == 0 {
			j.Approval = 1 + r.IntN(2)
		}
		j.AllowFailure = r.IntN(6) == 0
		if r.IntN(3) == 0 {
			j.Group = []string{"deploy", "db"}[r.IntN(2)]
			j.Limit = 1 + r.IntN(2)
		}
		j.Secret = r.IntN(3) == 0
		j.GPU = r.IntN(6) == 0
		p.Jobs = append(p.Jobs, j)
	}
	return p
}

// eventKind is what a user, an agent or the server's sweeper does.
type eventKind int

const (
	evRegister     eventKind = iota // a new agent registers
	evClaim                         // an agent claims a job
	evHeartbeat                     // an agent reports on its attempt (renewing the lease)
	evFinish                        // an agent finishes its attempt with a result
	evHandBack                      // an agent stops and hands its attempt back
	evLoseLease                     // agents go quiet past the lease; the sweeper runs
	evTimeout                       // time passes beyond job timeouts; the sweeper runs
	evSweep                         // a little time passes; the sweeper runs
	evDisable                       // an admin disables (or enables again) an agent
	evCancelRun                     // a user cancels a run
	evCancelJob                     // a user cancels a job
	evApprove                       // a user approves a job's gate
	evReject                        // a user rejects a job's gate
	evApproveRun                    // a writer approves an untrusted run's commit
	evRerunJob                      // a user re-runs a job
	evRerunFailed                   // a user re-runs a run's failed jobs
	evRerunRun                      // a user re-runs a whole run (a new run)
	evTrigger                       // another run of the pipeline starts
	evRestart                       // the server running an agent restarts: its attempts are lost, uncounted
	evQueueTimeout                  // hours pass with no agent heard from; the sweeper fails what waited too long
	numEventKinds
)

var eventNames = [numEventKinds]string{"register", "claim", "heartbeat", "finish", "hand-back", "lose-lease", "timeout",
	"sweep", "disable", "cancel-run", "cancel-job", "approve", "reject", "approve-run", "rerun-job", "rerun-failed",
	"rerun-run", "trigger", "restart", "queue-timeout"}

func (k eventKind) String() string { return eventNames[k] }

// eventWeights make agent work the common case.
var eventWeights = [numEventKinds]int{
	evRegister: 3, evClaim: 14, evHeartbeat: 5, evFinish: 14, evHandBack: 2, evLoseLease: 2, evTimeout: 2, evSweep: 2,
	evDisable: 2, evCancelRun: 2, evCancelJob: 3, evApprove: 5, evReject: 2, evApproveRun: 3, evRerunJob: 4,
	evRerunFailed: 2, evRerunRun: 1, evTrigger: 2, evRestart: 1, evQueueTimeout: 1,
}

// modelEvent is one step. Its target (agent, attempt, job or run) is chosen
// when it runs, by Pick among the targets it applies to, or, when Wild, among
// all targets of its kind: a wild event is often one the system must refuse.
type modelEvent struct {
	Kind eventKind
	Pick int
	Wild bool
	// Arg chooses the variant: a finish's result, an agent's labels.
	Arg int
}

// genEvents draws n events.
func genEvents(r *rand.Rand, n int) []modelEvent {
	total := 0
	for _, w := range eventWeights {
		total += w
	}
	evs := make([]modelEvent, n)
	for i := range evs {
		x := r.IntN(total)
		k := eventKind(0)
		for ; x >= eventWeights[k]; k++ {
			x -= eventWeights[k]
		}
		evs[i] = modelEvent{Kind: k, Pick: r.IntN(1 << 16), Wild: r.IntN(8) == 0, Arg: r.IntN(1 << 16)}
	}
	return evs
}

// modelCase is one generated test case.
type modelCase struct {
	Seed     uint64
	Pipeline modelPipeline
	Events   []modelEvent
}

// genCase draws the case of a seed: the same seed always gives the same case.
func genCase(seed uint64, maxEvents int) modelCase {
	r := rand.New(rand.NewPCG(seed, 0x6c617468652d6d6f))
	p := genPipeline(r)
	// Every case starts with two agents, so most sequences do some work.
	evs := []modelEvent{{Kind: evRegister, Arg: 0}, {Kind: evRegister, Arg: 1}}
	evs = append(evs, genEvents(r, 5+r.IntN(maxEvents))...)
	return modelCase{Seed: seed, Pipeline: p, Events: evs}
}
