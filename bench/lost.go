package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/client"
)

// (lost) How long a job stays with a dead agent. A `lathe server` (child
// process) runs with a short lease TTL and sweep interval; a `lathe agent`
// starts a job whose step sleeps; a second agent is long-polling; the first
// agent is killed with SIGKILL (and its step with it, as when a machine
// dies). Measured from the kill: the attempt marked lost (its finished_at,
// set by the sweep), which in the same transaction queues the job again,
// and the second agent claiming it (attempt 2's started_at). Server and
// benchmark share the machine's clock.
//
// An attempt's lease runs TTL from its agent's last report, and the agent
// reports at least every heartbeat (TTL/3 here), so the kill → lost time
// lies between TTL − heartbeat and TTL + one sweep interval.

// lostLabel routes the job to this section's agents only.
const lostLabel = "bench-lost"

// lostResult is (lost).
type lostResult struct {
	Reps        int     `json:"repetitions"`
	TTLMS       float64 `json:"lease_ttl_ms"`
	SweepMS     float64 `json:"sweep_interval_ms"`
	HeartbeatMS float64 `json:"heartbeat_ms"`
	// Kill → attempt 1 lost (and the job queued again, same transaction).
	Lost summary `json:"kill_to_lost"`
	// Kill → attempt 2 claimed by the second agent.
	Claimed summary `json:"kill_to_claimed"`
	// Lost → claimed: the requeued job reaching a waiting agent.
	Handover summary `json:"lost_to_claimed"`
	// Kill → the run finished (attempt 2 succeeded).
	Done       summary   `json:"kill_to_run_finished"`
	LostAll    []float64 `json:"kill_to_lost_all_ms"`
	ClaimedAll []float64 `json:"kill_to_claimed_all_ms"`
	// Within counts repetitions lost within TTL + sweep interval.
	Within int `json:"within_ttl_plus_sweep"`
}

func benchLost(ctx context.Context, b *bench) (*lostResult, error) {
	cfg := b.cfg
	hb := cfg.lostTTL / 3
	res := &lostResult{Reps: cfg.lostReps, TTLMS: ms(cfg.lostTTL), SweepMS: ms(cfg.lostSweep), HeartbeatMS: ms(hb)}
	bin, err := b.latheBinary(ctx)
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(b.tmp, "lost")
	// The first attempt's step sleeps until its agent is killed; the
	// sandbox dies with the agent, the step with it.
	step := `echo "attempt $LATHE_ATTEMPT"; if [ "$LATHE_ATTEMPT" = 1 ]; then sleep 300; fi; echo done`
	repo := filepath.Join(dir, "repo")
	if _, err := makeRepoWith(ctx, repo, map[string]string{
		".lathe/lost.yml": "jobs:\n  doomed:\n    runs-on: [" + lostLabel + "]\n    steps:\n      - " + step + "\n",
	}); err != nil {
		return nil, err
	}
	srv, err := startServerChild(ctx, bin, filepath.Join(dir, "data"),
		"--lease-ttl", cfg.lostTTL.String(), "--sweep-interval", cfg.lostSweep.String())
	if err != nil {
		return nil, err
	}
	defer func() {
		if err := srv.stop(stopTimeout); err != nil {
			b.stopErrs = append(b.stopErrs, err.Error())
		}
	}()
	project := b.project()
	if err := srv.admin.Do(ctx, http.MethodPost, "/api/v1/projects", map[string]string{"name": project, "url": repo}, nil); err != nil {
		return nil, fmt.Errorf("create project: %w", err)
	}
	var rt lathe.RegistrationToken
	if err := srv.admin.Do(ctx, http.MethodPost, "/api/v1/registration-tokens", map[string]string{"name": "bench-lost"}, &rt); err != nil {
		return nil, fmt.Errorf("create registration token: %w", err)
	}
	lc := &lostCase{srv: srv, bin: bin, reg: rt.Token, dir: dir, project: project, hb: hb, ttl: cfg.lostTTL, sweep: cfg.lostSweep}
	var lost, claimed, handover, done []time.Duration
	for i := range cfg.lostReps {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		s, err := lc.once(ctx, i+1)
		if err != nil {
			return nil, fmt.Errorf("repetition %d: %w", i+1, err)
		}
		lost, claimed, handover, done = append(lost, s.lost), append(claimed, s.claimed), append(handover, s.claimed-s.lost), append(done, s.done)
		res.LostAll, res.ClaimedAll = append(res.LostAll, ms(s.lost)), append(res.ClaimedAll, ms(s.claimed))
		if s.lost <= cfg.lostTTL+cfg.lostSweep {
			res.Within++
		}
		b.progress("(lost) %d/%d agents killed", i+1, cfg.lostReps)
	}
	b.progressDone()
	res.Lost, res.Claimed, res.Handover, res.Done = summarize(lost), summarize(claimed), summarize(handover), summarize(done)
	return res, nil
}

// lostCase is what every repetition shares.
type lostCase struct {
	srv            *serverChild
	bin, reg       string
	dir            string
	project        string
	hb, ttl, sweep time.Duration
}

// lostSample is one repetition's times from the kill.
type lostSample struct{ lost, claimed, done time.Duration }

// once kills one agent mid-job and times what follows.
func (lc *lostCase) once(ctx context.Context, i int) (s lostSample, err error) {
	agentArgs := []string{"--heartbeat", lc.hb.String(), "--grace", "1s", "--poll-wait", "5"}
	doomed, err := startAgent(lc.bin, lc.srv.url, lc.reg, fmt.Sprintf("doomed-%d", i), filepath.Join(lc.dir, "agents", fmt.Sprintf("doomed-%d", i)), []string{lostLabel}, agentArgs...)
	if err != nil {
		return s, err
	}
	defer doomed.kill()
	var run lathe.Run
	if err := lc.srv.admin.Do(ctx, http.MethodPost, "/api/v1/projects/"+lc.project+"/runs", map[string]string{"pipeline": "lost"}, &run); err != nil {
		return s, fmt.Errorf("trigger: %w", err)
	}
	if len(run.Jobs) != 1 {
		return s, fmt.Errorf("run %d has %d jobs, want 1", run.ID, len(run.Jobs))
	}
	jobID := run.Jobs[0].ID
	if err := poll(ctx, 30*time.Second, "the step of attempt 1 running", func() (bool, error) {
		var job lathe.Job
		err := lc.srv.admin.Do(ctx, http.MethodGet, fmt.Sprintf("/api/v1/jobs/%d", jobID), nil, &job)
		a := attemptN(&job, 1)
		return err == nil && a != nil && len(a.Steps) > 1 && a.Steps[1].Status == lathe.StatusRunning, err
	}); err != nil {
		return s, fmt.Errorf("%w\n%s", err, tailString(doomed.out.String(), 10))
	}

	rescuerName := fmt.Sprintf("rescuer-%d", i)
	rescuer, err := startAgent(lc.bin, lc.srv.url, lc.reg, rescuerName, filepath.Join(lc.dir, "agents", rescuerName), []string{lostLabel}, agentArgs...)
	if err != nil {
		return s, err
	}
	defer func() {
		if stopErr := rescuer.stop(stopTimeout); err == nil {
			err = stopErr
		}
	}()
	// The rescuer is waiting in a claim once the server has heard from it
	// after registering (a claim touches last_seen).
	if err := poll(ctx, 30*time.Second, "the second agent polling", func() (bool, error) {
		var a lathe.Agent
		err := lc.srv.admin.Do(ctx, http.MethodGet, "/api/v1/agents/"+url.PathEscape(rescuerName), nil, &a)
		if client.StatusOf(err) == http.StatusNotFound { // not registered yet
			return false, nil
		}
		return err == nil && a.LastSeen != nil && a.LastSeen.After(a.CreatedAt), err
	}); err != nil {
		return s, err
	}

	doomed.kill()
	killed := time.Now()

	var job lathe.Job
	if err := poll(ctx, lc.ttl+lc.sweep+30*time.Second, "attempt 2 claimed", func() (bool, error) {
		err := lc.srv.admin.Do(ctx, http.MethodGet, fmt.Sprintf("/api/v1/jobs/%d", jobID), nil, &job)
		return err == nil && len(job.Attempts) >= 2 && attemptN(&job, 2) != nil && attemptN(&job, 2).StartedAt != nil, err
	}); err != nil {
		return s, err
	}
	a1, a2 := attemptN(&job, 1), attemptN(&job, 2)
	if a1 == nil || a1.Status != lathe.StatusLost || a1.FinishedAt == nil {
		return s, fmt.Errorf("attempt 1 of job %d is %+v; want lost", jobID, a1)
	}
	if err := poll(ctx, time.Minute, "the run finished", func() (bool, error) {
		err := lc.srv.admin.Do(ctx, http.MethodGet, fmt.Sprintf("/api/v1/runs/%d", run.ID), nil, &run)
		return err == nil && run.Status.Terminal() && run.FinishedAt != nil, err
	}); err != nil {
		return s, err
	}
	if run.Status != lathe.StatusSuccess {
		return s, fmt.Errorf("run %d ended %s after the retry", run.ID, run.Status)
	}
	return lostSample{lost: a1.FinishedAt.Sub(killed), claimed: a2.StartedAt.Sub(killed), done: run.FinishedAt.Sub(killed)}, nil
}

func attemptN(j *lathe.Job, n int) *lathe.Attempt {
	for _, a := range j.Attempts {
		if a.Number == n {
			return a
		}
	}
	return nil
}

// pollEvery is how often poll looks; it bounds how late poll sees a change,
// not the measured times, which are the server's.
const pollEvery = 20 * time.Millisecond

// poll calls cond until it holds, fails, or timeout passes.
func poll(ctx context.Context, timeout time.Duration, what string, cond func() (bool, error)) error {
	deadline := time.Now().Add(timeout)
	for {
		ok, err := cond()
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: not within %s", what, timeout)
		}
		select {
		case <-time.After(pollEvery):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
