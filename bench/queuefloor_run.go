package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// serverFloor is the server floor's result (see queuefloor.go): its workers
// do the floor workers' job (see tpfloor.go) between claim and finish, so
// the server sees jobs at the pace Lathe's server does.
type serverFloor struct {
	Jobs       int     `json:"jobs"`
	Workers    int     `json:"workers"`
	Seconds    float64 `json:"seconds"`
	JobsPerSec float64 `json:"jobs_per_second"`
	// ServerMS is the floor server's CPU per job.
	ServerMS float64 `json:"server_cpu_per_job_ms"`
}

// measureServerFloor drains jobs one-step jobs, enqueued as jobs/runJobs
// runs, with the runner's workers long-polling the floor server over the
// database engine ("sqlite", with its file in dir, or "postgres" at dbURL),
// after a warm-up of two jobs per worker.
func measureServerFloor(ctx context.Context, engine, dir, dbURL string, jobs, runJobs int, runner *floorRunner) (*serverFloor, error) {
	workers := len(runner.mirrors)
	db := dbURL
	if engine == "sqlite" {
		db = filepath.Join(dir, "queue-floor.db")
	}
	c, url, err := startFloor("server floor", queueFloorArg, engine, db)
	if err != nil {
		return nil, err
	}
	defer c.stop(stopTimeout)
	fl := &floorWorkers{url: url, runner: runner, client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 2 * workers}}}
	defer fl.client.CloseIdleConnections()
	if _, err := fl.drain(ctx, 1, 2*workers, workers); err != nil {
		return nil, fmt.Errorf("server floor warm-up: %w", err)
	}
	cpu0, err := readProcCPU(c.pid())
	if err != nil {
		return nil, err
	}
	elapsed, err := fl.drain(ctx, jobs/runJobs, runJobs, workers)
	if err != nil {
		return nil, fmt.Errorf("server floor: %w", err)
	}
	cpu1, err := readProcCPU(c.pid())
	if err != nil {
		return nil, err
	}
	return &serverFloor{Jobs: jobs, Workers: workers, Seconds: elapsed.Seconds(), JobsPerSec: float64(jobs) / elapsed.Seconds(),
		ServerMS: ms(cpu1.sub(cpu0).self) / float64(jobs)}, nil
}

// floorWorkers enqueue and drain the floor server's jobs.
type floorWorkers struct {
	url    string
	runner *floorRunner
	client *http.Client
	run    int64
	doing  []atomic.Value // each worker's workerAt, in a drain
}

// drain enqueues runs runs of runJobs jobs and returns once workers workers
// have finished them all: first enqueue → last finish.
func (f *floorWorkers) drain(ctx context.Context, runs, runJobs, workers int) (time.Duration, error) {
	total := int64(runs * runJobs)
	var done atomic.Int64
	ctx, cancel := context.WithTimeout(ctx, drainTimeout(int(total)))
	defer cancel()
	errs := make([]error, workers)
	f.doing = make([]atomic.Value, workers)
	// The workers claim from this drain's runs only (see floorDialect.claim).
	claimPath := fmt.Sprintf("/claim?wait=5&lo=%d&hi=%d", f.run+1, f.run+int64(runs))
	var wg sync.WaitGroup
	t0 := time.Now()
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[w] = f.work(ctx, w, claimPath, &done, total)
			if errs[w] != nil || done.Load() >= total {
				cancel() // the others stop waiting in their polls
			}
		}()
	}
	for range runs {
		f.run++
		e := queueFloorEnqueue{Run: f.run}
		for i := range runJobs {
			e.Jobs = append(e.Jobs, queueFloorJob{Name: "j" + strconv.Itoa(i+1), Script: tpStep})
		}
		if _, err := f.post(ctx, "/enqueue", "", e, nil); err != nil {
			cancel()
			wg.Wait()
			return 0, fmt.Errorf("enqueue: %w", err)
		}
	}
	wg.Wait()
	elapsed := time.Since(t0)
	for _, err := range errs {
		if err != nil {
			return 0, err
		}
	}
	if n := done.Load(); n < total {
		return 0, fmt.Errorf("%d of %d jobs finished in %s; the workers were at: %s", n, total, elapsed.Round(time.Millisecond), f.where(t0))
	}
	return elapsed, nil
}

// work claims, runs and finishes jobs as worker w until done counts total.
func (f *floorWorkers) work(ctx context.Context, w int, claimPath string, done *atomic.Int64, total int64) error {
	token := queueFloorToken(w)
	for done.Load() < total {
		var j queueFloorJob
		f.note(w, "claiming")
		code, err := f.post(ctx, claimPath, token, nil, &j)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			return err
		}
		if code == http.StatusNoContent {
			continue
		}
		f.note(w, fmt.Sprintf("running job %d", j.ID))
		if err := f.runner.job(ctx, w, false); err != nil {
			return err
		}
		out, err := os.ReadFile(f.runner.output(w))
		if err != nil {
			return err
		}
		f.note(w, fmt.Sprintf("finishing job %d", j.ID))
		if _, err := f.post(ctx, "/finish/"+strconv.FormatInt(j.ID, 10), token, queueFloorFinish{Log: out}, nil); err != nil {
			return err
		}
		if done.Add(1) >= total {
			return nil
		}
	}
	return nil
}

// workerAt is what a worker last started doing, and when.
type workerAt struct {
	what  string
	since time.Time
}

// note records what worker w starts doing, for where.
func (f *floorWorkers) note(w int, what string) { f.doing[w].Store(workerAt{what, time.Now()}) }

// where says what each worker last started doing and when, after t0: what
// a drain that did not finish was waiting for.
func (f *floorWorkers) where(t0 time.Time) string {
	parts := make([]string, len(f.doing))
	for w := range f.doing {
		at, _ := f.doing[w].Load().(workerAt)
		parts[w] = fmt.Sprintf("%d %s from %s", w, at.what, at.since.Sub(t0).Round(time.Millisecond))
	}
	return strings.Join(parts, ", ")
}

// post sends body as JSON and decodes a 200's answer into out.
func (f *floorWorkers) post(ctx context.Context, path, token string, body, out any) (int, error) {
	var buf bytes.Buffer
	if body != nil {
		if err := json.NewEncoder(&buf).Encode(body); err != nil {
			return 0, err
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.url+path, &buf)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusOK && out != nil:
		return resp.StatusCode, json.NewDecoder(resp.Body).Decode(out)
	case resp.StatusCode >= 300:
		var msg bytes.Buffer
		msg.ReadFrom(resp.Body)
		return resp.StatusCode, fmt.Errorf("POST %s: %s: %s", path, resp.Status, bytes.TrimSpace(msg.Bytes()))
	}
	return resp.StatusCode, nil
}
