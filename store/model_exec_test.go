package store_test

import (
	"context"
	"fmt"
	"time"

	lathe "github.com/lathe-ci/lathe"
)

// modelExec plays one case's events against a driver, one step at a time.
type modelExec struct {
	d      *modelDriver
	agents []*modelAgent
	snap   *modelSnapshot
}

type modelAgent struct {
	agent    *lathe.Agent
	name     string
	disabled bool
}

// stepResult is what one event did, as the checks need to know it.
type stepResult struct {
	kind eventKind
	desc string
	err  error
	// skipped: the event had nothing to act on (no agent yet, say).
	skipped bool
	// claimed is the assignment a claim returned; claimer its agent.
	claimed *lathe.Assignment
	claimer *modelAgent
	// job and run are the event's target, when it has one.
	job, run int64
}

// maxModelRuns bounds the runs of one case (triggers and whole re-runs).
const maxModelRuns = 4

// finishResults are the results an agent may send, invalid ones included.
var finishResults = []struct {
	status lathe.Status
	reason string
}{
	{lathe.StatusSuccess, ""}, {lathe.StatusSuccess, ""}, {lathe.StatusFailed, ""}, {lathe.StatusFailed, ""},
	{lathe.StatusFailed, "infrastructure: no space left on device"}, {lathe.StatusCanceled, ""}, {lathe.StatusTimedOut, ""},
	{lathe.StatusSkipped, ""}, {lathe.StatusRunning, ""},
}

// choose picks one of applicable by ev.Pick, or one of all when the event
// is wild or nothing applies.
func choose[T any](ev modelEvent, applicable, all []T) (T, bool) {
	list := applicable
	if ev.Wild || len(list) == 0 {
		list = all
	}
	var zero T
	if len(list) == 0 {
		return zero, false
	}
	return list[ev.Pick%len(list)], true
}

func (x *modelExec) agentByID(id int64) *modelAgent {
	for _, a := range x.agents {
		if a.agent.ID == id {
			return a
		}
	}
	return nil
}

// jobDesc names a job for the printed trace: "j2 (v=a) of run 1".
func (x *modelExec) jobDesc(id int64) string {
	j := x.snap.jobs[id]
	if j == nil {
		return fmt.Sprintf("job %d", id)
	}
	return fmt.Sprintf("%s of run %d", j.Name, x.runIndex(j.RunID))
}

// runIndex numbers a case's runs from 0 in creation order.
func (x *modelExec) runIndex(id int64) int {
	for i, r := range x.snap.runs {
		if r.ID == id {
			return i
		}
	}
	return -1
}

func (x *modelExec) step(ctx context.Context, ev modelEvent) stepResult {
	res := stepResult{kind: ev.Kind}
	d, snap := x.d, x.snap
	var allAgents, enabled []*modelAgent
	for _, a := range x.agents {
		allAgents = append(allAgents, a)
		if !a.disabled {
			enabled = append(enabled, a)
		}
	}
	var allAttempts, running []*lathe.Attempt
	var allJobs, waiting, unfinished, rerunnable []*lathe.Job
	for _, r := range snap.runs {
		for _, j := range r.Jobs {
			allJobs = append(allJobs, j)
			switch {
			case j.Status == lathe.StatusWaiting:
				waiting = append(waiting, j)
			case j.Status == lathe.StatusSkipped:
			case j.Status.Terminal():
				rerunnable = append(rerunnable, j)
			}
			if !j.Status.Terminal() {
				unfinished = append(unfinished, j)
			}
			for _, a := range snap.byJob[j.ID] {
				allAttempts = append(allAttempts, a)
				if a.Status == lathe.StatusRunning {
					running = append(running, a)
				}
			}
		}
	}
	var activeRuns, endedRuns, gatedRuns, failedRuns []*lathe.Run
	for _, r := range snap.runs {
		if r.Status.Terminal() {
			endedRuns = append(endedRuns, r)
			if r.Status != lathe.StatusSuccess {
				failedRuns = append(failedRuns, r)
			}
		} else {
			activeRuns = append(activeRuns, r)
		}
		for _, j := range r.Jobs {
			if snap.trustGated[j.ID] {
				gatedRuns = append(gatedRuns, r)
				break
			}
		}
	}
	// attemptAgent picks who reports on a: its own agent, or (wild) any.
	attemptAgent := func(a *lathe.Attempt) *modelAgent {
		if ev.Wild && len(x.agents) > 0 {
			return x.agents[ev.Arg%len(x.agents)]
		}
		return x.agentByID(a.AgentID)
	}
	job := func(list []*lathe.Job) (*lathe.Job, bool) {
		j, ok := choose(ev, list, allJobs)
		if ok {
			res.job, res.run = j.ID, j.RunID
		}
		return j, ok
	}
	run := func(list []*lathe.Run) (*lathe.Run, bool) {
		r, ok := choose(ev, list, snap.runs)
		if ok {
			res.run = r.ID
		}
		return r, ok
	}
	switch ev.Kind {
	case evRegister:
		name := fmt.Sprintf("a%d", len(x.agents))
		labels := [][]string{{"linux"}, {"linux", "gpu"}, {"linux"}, {}}[ev.Arg%4]
		a, err := d.register(ctx, name, labels)
		res.desc, res.err = fmt.Sprintf("register agent %s with labels %v", name, labels), err
		if err == nil {
			x.agents = append(x.agents, &modelAgent{agent: a, name: name})
		}
	case evClaim:
		a, ok := choose(ev, enabled, allAgents)
		if !ok {
			return skip(res, "claim: no agent")
		}
		res.claimer = a
		res.claimed, res.err = d.claim(ctx, a.agent)
		res.desc = fmt.Sprintf("claim by %s (disabled %v)", a.name, a.disabled)
		if as := res.claimed; as != nil {
			res.job, res.run = as.JobID, as.RunID
			res.desc += fmt.Sprintf(" → %s, attempt #%d", x.jobDesc(as.JobID), as.Attempt)
		}
	case evHeartbeat, evFinish, evHandBack:
		at, ok := choose(ev, running, allAttempts)
		if !ok {
			return skip(res, ev.Kind.String()+": no attempt")
		}
		a := attemptAgent(at)
		if a == nil {
			return skip(res, ev.Kind.String()+": no agent")
		}
		res.job = at.JobID
		who := fmt.Sprintf("%s on attempt #%d of %s (%s)", a.name, at.Number, x.jobDesc(at.JobID), at.Status)
		switch ev.Kind {
		case evHeartbeat:
			res.desc, res.err = "heartbeat by "+who, d.heartbeat(ctx, a.agent.ID, at.ID)
		case evHandBack:
			res.desc, res.err = "hand-back by "+who, d.finish(ctx, a.agent.ID, at.ID, lathe.StatusLost, "")
		default:
			f := finishResults[ev.Arg%len(finishResults)]
			res.desc = fmt.Sprintf("finish %s by %s", f.status, who)
			if f.reason != "" {
				res.desc += " (" + f.reason + ")"
			}
			res.err = d.finish(ctx, a.agent.ID, at.ID, f.status, f.reason)
		}
	case evLoseLease:
		res.desc, res.err = "agents go quiet past the lease; sweep", d.sweep(ctx, modelLeaseTTL+time.Minute)
	case evTimeout:
		res.desc, res.err = "6 minutes pass (past every job's timeout); sweep", d.sweep(ctx, 6*time.Minute)
	case evSweep:
		res.desc, res.err = "10 seconds pass; sweep", d.sweep(ctx, 10*time.Second)
	case evQueueTimeout:
		res.desc, res.err = "2 hours pass with no agent heard from; sweep with a 1 h queue timeout", d.queueTimeout(ctx)
	case evRestart:
		a, ok := choose(ev, allAgents, allAgents)
		if !ok {
			return skip(res, "restart: no agent")
		}
		res.desc, res.err = fmt.Sprintf("the server running agent %s restarts", a.name), d.restart(ctx, a.agent)
	case evDisable:
		a, ok := choose(ev, allAgents, allAgents)
		if !ok {
			return skip(res, "disable: no agent")
		}
		res.err = d.setDisabled(ctx, a.agent.ID, !a.disabled)
		res.desc = fmt.Sprintf("set agent %s disabled=%v", a.name, !a.disabled)
		if res.err == nil {
			a.disabled = !a.disabled
		}
	case evCancelRun:
		r, ok := run(activeRuns)
		if !ok {
			return skip(res, "cancel-run: no run")
		}
		res.desc, res.err = fmt.Sprintf("cancel run %d (%s)", x.runIndex(r.ID), r.Status), d.cancelRun(ctx, r.ID)
	case evCancelJob, evApprove, evReject, evRerunJob:
		list := map[eventKind][]*lathe.Job{evCancelJob: unfinished, evApprove: waiting, evReject: waiting, evRerunJob: rerunnable}[ev.Kind]
		if ev.Kind == evRerunJob && len(snap.runs) >= maxModelRuns {
			return skip(res, "rerun-job: enough runs")
		}
		j, ok := job(list)
		if !ok {
			return skip(res, ev.Kind.String()+": no job")
		}
		res.desc = fmt.Sprintf("%s %s (%s)", ev.Kind, x.jobDesc(j.ID), j.Status)
		res.err = map[eventKind]func(context.Context, int64) error{evCancelJob: d.cancelJob, evApprove: d.approveJob,
			evReject: d.rejectJob, evRerunJob: d.rerunJob}[ev.Kind](ctx, j.ID)
	case evApproveRun, evRerunFailed, evRerunRun:
		list := map[eventKind][]*lathe.Run{evApproveRun: gatedRuns, evRerunFailed: failedRuns, evRerunRun: endedRuns}[ev.Kind]
		if ev.Kind != evApproveRun && len(snap.runs) >= maxModelRuns {
			return skip(res, ev.Kind.String()+": enough runs")
		}
		r, ok := run(list)
		if !ok {
			return skip(res, ev.Kind.String()+": no run")
		}
		res.desc = fmt.Sprintf("%s %d (%s)", ev.Kind, x.runIndex(r.ID), r.Status)
		switch ev.Kind {
		case evApproveRun:
			res.err = d.approveRun(ctx, r.ID)
		case evRerunFailed:
			res.err = d.rerunFailed(ctx, r.ID)
		default:
			_, res.err = d.rerunRun(ctx, r.ID)
		}
	case evTrigger:
		if len(snap.runs) >= maxModelRuns {
			return skip(res, "trigger: enough runs")
		}
		untrusted := ev.Arg%3 == 0
		_, res.err = d.startRun(ctx, untrusted, nil)
		res.desc = fmt.Sprintf("trigger run %d (untrusted %v)", len(snap.runs), untrusted)
	}
	if res.err != nil {
		res.desc += ": refused: " + res.err.Error()
	}
	return res
}

func skip(res stepResult, why string) stepResult {
	res.skipped, res.desc = true, why+" (nothing done)"
	return res
}
