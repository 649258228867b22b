package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/forge"
)

// (hooks) Signed forge push hook received → first job queued.
//
// Each sample is a new commit on the benchmark repository's main branch
// (made before the clock starts), announced by a GitHub push hook signed
// with the project's hook secret. Lathe's time is from just before the
// hook is sent to its answer: by then the signature is checked, the
// delivery recorded, the commit fetched alone into the server's mirror,
// the pipelines known and the run stored with its first job queued (read
// back after the clock stops: the server has no agents, so nothing claims
// it). The floor, measured beside each hook in the same run (before it or
// after it, in turn), is the one thing that work cannot do without: `git
// fetch` of that one commit into a mirror of its own, into its branch
// there, as Lathe's mirror does. What Lathe adds is no git process (the
// new commit's pipeline files are the ones already parsed, which it sees
// in the loose objects the fetch wrote) and three small database
// transactions (the delivery, the branch's config errors, the run).

// hookSecret signs the benchmark's hooks.
const hookSecret = "benchmark-hook-secret-0123456789"

// hookPipeline runs on pushes: one job, queued by the hook.
const hookPipeline = "on: [push]\njobs:\n  first-job:\n    steps: ['echo started']\n"

// targetHookAddedMS is the target for Lathe's added time, p50.
const targetHookAddedMS = 5.0

// hookWarmup hooks are sent before measuring (mirror, caches, pools).
const hookWarmup = 3

// hooksResult is the (hooks) section.
type hooksResult struct {
	Hooks int `json:"hooks"`
	// Lathe is hook sent → answer with the run and its first job queued.
	Lathe summary `json:"lathe"`
	// Stored is hook sent → run created_at (the server's clock, shared).
	Stored summary `json:"stored"`
	// Floor is git fetch of the hook's commit into a mirror.
	Floor summary `json:"floor"`
	// Added is Lathe − Floor, hook by hook.
	Added summary `json:"added"`
}

func benchHooks(ctx context.Context, b *bench, hooks int) (*hooksResult, error) {
	repo := filepath.Join(b.tmp, "hooks-repo")
	if _, err := makeRepoWith(ctx, repo, map[string]string{".lathe/ci.yml": hookPipeline, "README": "hooks\n"}); err != nil {
		return nil, err
	}
	project := b.project()
	in, err := startLathe(ctx, filepath.Join(b.tmp, "hooks-lathe"), "", 0, b.log, project, repo)
	if err != nil {
		return nil, err
	}
	defer b.stop(in)
	if err := in.c.Do(ctx, http.MethodPut, "/api/v1/projects/"+project+"/hook-secret", map[string]string{"secret": hookSecret}, nil); err != nil {
		return nil, err
	}
	mirror := filepath.Join(b.tmp, "hooks-floor.git")
	if err := makeMirror(ctx, repo, mirror); err != nil {
		return nil, err
	}
	var lat, stored, floors, added []time.Duration
	for i := range hooks + hookWarmup {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		commit, err := pushCommit(ctx, repo, i)
		if err != nil {
			return nil, err
		}
		// Which goes first alternates, so neither always finds the
		// machine as the other left it.
		var (
			sent, answered time.Time
			run            *lathe.Run
			fetch          time.Duration
		)
		hook := func() (err error) {
			sent, answered, run, err = sendPushHook(ctx, in, project, commit, fmt.Sprintf("bench-%d-%d", os.Getpid(), i))
			if err != nil {
				return fmt.Errorf("hook %d: %w", i+1, err)
			}
			return nil
		}
		floor := func() error {
			return asFloor(ctx, func(ctx context.Context) error {
				t0 := time.Now()
				_, err := gitOut(ctx, mirror, "fetch", "--quiet", "--no-tags", "--end-of-options", repo, "+"+commit+":refs/heads/main")
				fetch = time.Since(t0)
				if err != nil {
					return fmt.Errorf("floor %d: %w", i+1, err)
				}
				return nil
			})
		}
		first, second := hook, floor
		if i%2 == 1 {
			first, second = floor, hook
		}
		if err := first(); err != nil {
			return nil, err
		}
		if err := second(); err != nil {
			return nil, err
		}
		if i < hookWarmup {
			continue
		}
		l := answered.Sub(sent)
		lat, stored, floors, added = append(lat, l), append(stored, run.CreatedAt.Sub(sent)), append(floors, fetch), append(added, l-fetch)
		b.progress("(hooks) %d/%d hooks", i+1-hookWarmup, hooks)
	}
	b.progressDone()
	return &hooksResult{Hooks: hooks, Lathe: summarize(lat), Stored: summarize(stored), Floor: summarize(floors), Added: summarize(added)}, nil
}

// pushCommit commits a change to the repository's main branch, as a push would bring.
func pushCommit(ctx context.Context, repo string, i int) (string, error) {
	if err := os.WriteFile(filepath.Join(repo, "README"), fmt.Appendf(nil, "hooks: push %d\n", i), 0o644); err != nil {
		return "", err
	}
	if _, err := gitOut(ctx, repo, "-c", "user.email=bench@lathe.invalid", "-c", "user.name=bench",
		"commit", "-q", "-a", "-m", fmt.Sprintf("push %d", i)); err != nil {
		return "", err
	}
	out, err := gitOut(ctx, repo, "rev-parse", "HEAD")
	return strings.TrimSpace(out), err
}

// sendPushHook sends a signed GitHub push of commit to main and checks its
// answer: one run, its first job queued.
func sendPushHook(ctx context.Context, in *instance, project, commit, delivery string) (sent, answered time.Time, run *lathe.Run, err error) {
	body, err := json.Marshal(map[string]any{
		"ref": "refs/heads/main", "before": strings.Repeat("0", 40), "after": commit, "created": false, "deleted": false,
		"repository": map[string]any{"name": "bench", "full_name": "lathe/bench"},
		"pusher":     map[string]any{"name": "bench", "email": "bench@lathe.invalid"},
		"sender":     map[string]any{"login": "bench"},
		"head_commit": map[string]any{"id": commit, "message": "a benchmark push",
			"author": map[string]any{"name": "bench", "email": "bench@lathe.invalid"}},
	})
	if err != nil {
		return
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, in.srv.URL+"/api/v1/hooks/github/"+project, bytes.NewReader(body))
	if err != nil {
		return
	}
	for _, h := range []http.Header{forge.EventHeaders(forge.SenderGitHub, "push", delivery), forge.Sign(forge.SenderGitHub, []byte(hookSecret), body)} {
		for k, v := range h {
			req.Header[k] = v
		}
	}
	req.Header.Set("Content-Type", "application/json")
	sent = time.Now()
	resp, err := in.c.HTTP.Do(req)
	if err != nil {
		return
	}
	answer, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	answered = time.Now()
	if err != nil {
		return
	}
	var out struct{ Items []*lathe.Run }
	if resp.StatusCode != http.StatusAccepted || json.Unmarshal(answer, &out) != nil || len(out.Items) != 1 {
		return sent, answered, nil, fmt.Errorf("answered %s: %s", resp.Status, answer)
	}
	// Read back after the clock stopped: with no agent, a job queued when
	// the hook was answered is queued still.
	run = new(lathe.Run)
	if err = in.c.Do(ctx, http.MethodGet, fmt.Sprintf("/api/v1/runs/%d", out.Items[0].ID), nil, run); err != nil {
		return
	}
	if len(run.Jobs) != 1 || run.Jobs[0].Status != lathe.StatusQueued || run.Commit != commit {
		return sent, answered, nil, fmt.Errorf("run %d at %s: want one queued job at %s", run.ID, run.Commit, commit)
	}
	return sent, answered, run, nil
}

// printHooks prints the (hooks) section.
func printHooks(w io.Writer, h *hooksResult) {
	fmt.Fprintf(w, "\n(hooks) signed GitHub push hook received → first job queued, %d hooks, SQLite, each a new commit\n", h.Hooks)
	widths := []int{-44, 10, 10, 10}
	row(w, widths, "", "p50", "p99", "mean")
	for _, r := range []struct {
		name string
		s    summary
	}{
		{"Lathe: hook sent → answer, job queued", h.Lathe},
		{"Lathe: hook sent → run stored (server clock)", h.Stored},
		{"floor: git fetch of that one commit", h.Floor},
		{"Lathe's added time (paired, hook by hook)", h.Added},
	} {
		row(w, widths, r.name, fmtMS(r.s.P50), fmtMS(r.s.P99), fmtMS(r.s.Mean))
	}
	fmt.Fprintf(w, "target: added time ≤ %s p50 — %s (%s the floor at p50)\n", fmtMS(targetHookAddedMS),
		verdict(h.Added.P50, targetHookAddedMS), fmtRatio(h.Lathe.P50, h.Floor.P50))
}
