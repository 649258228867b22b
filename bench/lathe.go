package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/pprof"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/client"
	"github.com/lathe-ci/lathe/server"
)

// instance is an in-process Lathe server with its embedded agents, started
// through server.New and server.Run exactly as `lathe up` starts one.
type instance struct {
	srv     *server.Server
	c       *client.Client
	project string

	cancel context.CancelFunc
	done   chan error
}

// runTimeout bounds the wait for one benchmark run to finish.
const runTimeout = 2 * time.Minute

// startLathe starts a server with agents embedded agents on 127.0.0.1 and
// creates a project for repo. dbURL empty means SQLite in dataDir.
func startLathe(ctx context.Context, dataDir, dbURL string, agents int, log *slog.Logger, project, repo string) (*instance, error) {
	var in *instance
	var err error
	// The server's and agents' goroutines inherit the label, so their CPU
	// samples say part=lathe.
	pprof.Do(ctx, pprof.Labels("part", "lathe"), func(ctx context.Context) {
		var srv *server.Server
		srv, err = server.New(ctx, server.Config{
			Addr: "127.0.0.1:0", DataDir: dataDir, DatabaseURL: dbURL, Agents: agents, Log: log,
		})
		if err != nil {
			return
		}
		runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		in = &instance{srv: srv, c: client.New(srv.URL, srv.AdminToken), project: project, cancel: cancel, done: make(chan error, 1)}
		go func() { in.done <- srv.Run(runCtx) }()
	})
	if err != nil {
		return nil, fmt.Errorf("start server: %w", err)
	}
	err = in.c.Do(ctx, http.MethodPost, "/api/v1/projects", map[string]string{"name": project, "url": repo}, nil)
	if err != nil {
		in.stop()
		return nil, fmt.Errorf("create project: %w", err)
	}
	return in, nil
}

// stop stops the server and its agents and waits (bounded) for them.
func (in *instance) stop() error {
	in.cancel()
	select {
	case err := <-in.done:
		return err
	case <-time.After(30 * time.Second):
		return errors.New("server did not stop within 30s")
	}
}

// triggered is a run as the trigger request answered it, with the client's
// clock around the request.
type triggered struct {
	run      *lathe.Run
	sent     time.Time // just before the request was sent
	answered time.Time // once the answer was read
}

// trigger starts a run of one pipeline on the project's default branch.
func (in *instance) trigger(ctx context.Context, pipeline string) (triggered, error) {
	var t triggered
	var run lathe.Run
	t.sent = time.Now()
	err := in.c.Do(ctx, http.MethodPost, "/api/v1/projects/"+in.project+"/runs", map[string]string{"pipeline": pipeline}, &run)
	t.answered = time.Now()
	if err != nil {
		return t, fmt.Errorf("trigger %s: %w", pipeline, err)
	}
	if len(run.Jobs) != 1 {
		return t, fmt.Errorf("run %d of %s has %d jobs, want 1", run.ID, pipeline, len(run.Jobs))
	}
	t.run = &run
	return t, nil
}

// wait follows the run's events until it finishes, as `lathe run --follow`
// does, and returns the time the client saw it finish.
func (in *instance) wait(ctx context.Context, runID int64) (time.Time, error) {
	ctx, cancel := context.WithTimeout(ctx, runTimeout)
	defer cancel()
	var last lathe.Run
	errDone := errors.New("done")
	err := in.c.Stream(ctx, fmt.Sprintf("/api/v1/runs/%d/events", runID), "", func(ev client.Event) error {
		if err := json.Unmarshal(ev.Data, &last); err != nil {
			return err
		}
		if last.Status.Terminal() {
			return errDone
		}
		return nil
	})
	seen := time.Now()
	if !errors.Is(err, errDone) {
		return seen, fmt.Errorf("run %d did not finish (last status %q): %v", runID, last.Status, err)
	}
	if last.Status != lathe.StatusSuccess {
		return seen, fmt.Errorf("run %d ended %s", runID, last.Status)
	}
	return seen, nil
}

// job fetches a job with its attempts and their steps.
func (in *instance) job(ctx context.Context, id int64) (*lathe.Job, error) {
	var j lathe.Job
	if err := in.c.Do(ctx, http.MethodGet, fmt.Sprintf("/api/v1/jobs/%d", id), nil, &j); err != nil {
		return nil, err
	}
	if len(j.Attempts) == 0 {
		return nil, fmt.Errorf("job %d has no attempt", id)
	}
	return &j, nil
}

// log fetches the whole log of a job's latest attempt.
func (in *instance) log(ctx context.Context, jobID int64) ([]byte, error) {
	resp, err := in.c.Request(ctx, http.MethodGet, fmt.Sprintf("/api/v1/jobs/%d/log", jobID), nil, nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return io.ReadAll(resp.Body)
}

// runJob triggers a pipeline, waits for its run and returns its one job's
// latest attempt with the trigger's client times.
func (in *instance) runJob(ctx context.Context, pipeline string) (triggered, *lathe.Job, *lathe.Attempt, error) {
	t, err := in.trigger(ctx, pipeline)
	if err != nil {
		return t, nil, nil, err
	}
	if _, err := in.wait(ctx, t.run.ID); err != nil {
		return t, nil, nil, err
	}
	j, err := in.job(ctx, t.run.Jobs[0].ID)
	if err != nil {
		return t, nil, nil, err
	}
	a := j.Attempts[len(j.Attempts)-1]
	return t, j, a, nil
}

// stepTimes checks that an attempt has want steps (the checkout included),
// all finished with their times, and returns them.
func stepTimes(a *lathe.Attempt, want int) ([]*lathe.Step, error) {
	if len(a.Steps) != want {
		return nil, fmt.Errorf("attempt %d has %d steps, want %d", a.ID, len(a.Steps), want)
	}
	for i, st := range a.Steps {
		if st.Index != i || st.StartedAt == nil || st.FinishedAt == nil {
			return nil, fmt.Errorf("attempt %d step %d has no start or finish time", a.ID, i)
		}
	}
	if a.StartedAt == nil || a.FinishedAt == nil {
		return nil, fmt.Errorf("attempt %d has no start or finish time", a.ID)
	}
	return a.Steps, nil
}
