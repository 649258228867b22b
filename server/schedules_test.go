package server_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/clock"
	"github.com/lathe-ci/lathe/internal/lathetest"
	"github.com/lathe-ci/lathe/server"
)

// schedulesOf lists a project's schedules by pipeline name and cron line.
func schedulesOf(t *testing.T, l *lathetest.Lathe, project string) map[string]*lathe.Schedule {
	t.Helper()
	var list struct{ Items []*lathe.Schedule }
	l.Do(t, http.MethodGet, "/api/v1/projects/"+project+"/schedules", nil, &list)
	out := map[string]*lathe.Schedule{}
	for _, sc := range list.Items {
		out[sc.Pipeline+" "+sc.Cron] = sc
	}
	return out
}

// runsOf lists the runs of one pipeline of a project, newest first.
func runsOf(t *testing.T, l *lathetest.Lathe, project, pipeline string) []*lathe.Run {
	t.Helper()
	var page lathe.Page[*lathe.Run]
	l.Do(t, http.MethodGet, "/api/v1/projects/"+project+"/runs?pipeline="+pipeline, nil, &page)
	return page.Items
}

// The schedules view lists each cron trigger with its next firing in UTC;
// time is the server's clock, moved by the test. A paused schedule does not
// fire while the others do, and resumed it fires next from then on, never
// for what it missed. The schedules are read again when the default
// branch's head moves: a run on it says so, and the slow poll of the remote
// finds a push nobody reported.
func TestSchedulesViewPauseAndHeadMoves(t *testing.T) {
	lathetest.Engines(t, func(t *testing.T, o lathetest.Options) {
		start := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
		clk := clock.NewManual(start)
		l := startLifecycle(t, o, server.Config{Agents: 1, ScheduleInterval: 50 * time.Millisecond, Clock: clk,
			QueueTimeout: -1, HeadPollInterval: 5 * time.Minute})
		repo := lathetest.Repo(t, map[string]string{
			".lathe/nightly.yml": "on:\n  schedule: [{cron: '0 3 * * *'}]\n  manual: {}\njobs:\n  n:\n    steps: [echo nightly]\n",
			".lathe/soak.yml":    "on:\n  schedule: [{cron: '0 3 * * *'}]\njobs:\n  s:\n    steps: [echo soak]\n",
		})
		l.Project(t, "sched", repo)

		var all map[string]*lathe.Schedule
		waitFor(t, 30*time.Second, "the schedules to be read", func() bool {
			all = schedulesOf(t, l, "sched")
			return len(all) == 2
		})
		nightly, soak := all["nightly 0 3 * * *"], all["soak 0 3 * * *"]
		want := time.Date(2026, 1, 5, 3, 0, 0, 0, time.UTC)
		if nightly == nil || soak == nil || !nightly.NextAt.Equal(want) || nightly.Branch != "main" || nightly.LastFiredAt != nil {
			t.Fatalf("schedules = %+v; want nightly and soak next at %s on main", all, want)
		}
		_, body := call(t, l, http.MethodGet, "/api/v1/projects/sched/schedules", nil)
		if !strings.Contains(string(body), `"next_at":"2026-01-05T03:00:00Z"`) {
			t.Errorf("schedules as sent = %s; want next_at in UTC", body)
		}

		var paused lathe.Schedule
		l.Do(t, http.MethodPost, fmt.Sprintf("/api/v1/projects/sched/schedules/%d/pause", soak.ID), nil, &paused)
		if !paused.Paused {
			t.Fatalf("pause answered %+v", paused)
		}
		err := l.Client.Do(context.Background(), http.MethodPost, "/api/v1/projects/sched/schedules/999999/pause", nil, nil)
		wantStatus(t, err, http.StatusNotFound, "pausing a schedule that does not exist")

		// Two nights pass; each time nightly fires once and soak never.
		for night := 0; night < 2; night++ {
			clk.Set(want.Add(time.Duration(night)*24*time.Hour + time.Second))
			waitFor(t, 30*time.Second, fmt.Sprintf("night %d's nightly run", night+1), func() bool {
				return len(runsOf(t, l, "sched", "nightly")) == night+1
			})
			run := l.Wait(t, runsOf(t, l, "sched", "nightly")[0].ID, 60*time.Second)
			if run.Event != "schedule" || run.Branch != "main" || run.Status != lathe.StatusSuccess {
				t.Errorf("scheduled run = %s on %s, %s", run.Event, run.Branch, run.Status)
			}
		}
		if n := len(runsOf(t, l, "sched", "soak")); n != 0 {
			t.Errorf("the paused schedule started %d runs", n)
		}
		all = schedulesOf(t, l, "sched")
		if sc := all["nightly 0 3 * * *"]; !sc.NextAt.Equal(want.Add(48*time.Hour)) || sc.LastFiredAt == nil ||
			!sc.LastFiredAt.Equal(want.Add(24*time.Hour+time.Second)) {
			t.Errorf("nightly after two nights = next %s, last fired %v", sc.NextAt, sc.LastFiredAt)
		}
		if sc := all["soak 0 3 * * *"]; !sc.Paused || sc.LastFiredAt != nil || !sc.NextAt.Equal(want) {
			t.Errorf("paused soak = %+v; want it untouched", sc)
		}
		// Resumed, it fires at its next time from now, not for the nights it missed.
		var resumed lathe.Schedule
		l.Do(t, http.MethodPost, fmt.Sprintf("/api/v1/projects/sched/schedules/%d/resume", soak.ID), nil, &resumed)
		if resumed.Paused || !resumed.NextAt.Equal(want.Add(48*time.Hour)) {
			t.Errorf("resumed soak = %+v; want next at %s", resumed, want.Add(48*time.Hour))
		}

		// A push nobody reports is found by the slow poll of the remote.
		lathetest.Commit(t, repo, map[string]string{
			".lathe/hourly.yml": "on:\n  schedule: [{cron: '30 * * * *', branch: release/1.x}]\njobs:\n  h:\n    steps: [echo hourly]\n",
		})
		clk.Advance(6 * time.Minute)
		waitFor(t, 30*time.Second, "the pushed schedule to be read", func() bool {
			_, ok := schedulesOf(t, l, "sched")["hourly 30 * * * *"]
			return ok
		})
		if sc := schedulesOf(t, l, "sched")["hourly 30 * * * *"]; sc.Branch != "release/1.x" ||
			!sc.NextAt.Equal(time.Date(2026, 1, 6, 3, 30, 0, 0, time.UTC)) {
			t.Errorf("hourly = %+v", sc)
		}
		// A run on the branch reports its new head: the removed schedule goes,
		// the others keep their state.
		lathetest.Git(t, repo, "rm", "-q", ".lathe/hourly.yml")
		lathetest.Commit(t, repo, nil)
		l.Wait(t, l.Trigger(t, "sched", "", "nightly").ID, 60*time.Second)
		waitFor(t, 30*time.Second, "the removed schedule to go", func() bool {
			_, ok := schedulesOf(t, l, "sched")["hourly 30 * * * *"]
			return !ok
		})
		if sc := schedulesOf(t, l, "sched")["nightly 0 3 * * *"]; sc == nil || sc.LastFiredAt == nil {
			t.Errorf("nightly after the re-read = %+v; want it kept with its history", sc)
		}
	})
}
