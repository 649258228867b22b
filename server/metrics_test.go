package server_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/internal/lathetest"
)

// /metrics, on its own address, shows the queue, agents, HTTP routes, the
// attempts that ended, the pool and the lead, on both databases.
func TestMetrics(t *testing.T) {
	lathetest.Engines(t, func(t *testing.T, o lathetest.Options) {
		o.MetricsAddr = "127.0.0.1:0"
		o.Agents = 2
		l := lathetest.Start(t, o)
		scrape := func() string { return scrapeMetrics(t, l) }
		// On PostgreSQL the server takes the lead a moment after it starts.
		for i := 0; !strings.Contains(scrape(), "\nlathe_leader 1\n"); i++ {
			if i == 400 {
				t.Fatal("the only server never took the lead")
			}
			time.Sleep(25 * time.Millisecond)
		}
		// Both agents in one group, none in another.
		var agents lathe.Page[*lathe.Agent]
		l.Do(t, http.MethodGet, "/api/v1/agents", nil, &agents)
		var names []string
		for _, a := range agents.Items {
			names = append(names, a.Name)
		}
		l.Do(t, http.MethodPost, "/api/v1/agent-groups", map[string]any{"name": "builders"}, nil)
		l.Do(t, http.MethodPost, "/api/v1/agent-groups", map[string]any{"name": "idle-pool"}, nil)
		l.Do(t, http.MethodPost, "/api/v1/agent-groups/builders/agents", map[string]any{"agents": names}, nil)
		// Two agents take both jobs at once and the one claimed first (with
		// the lower attempt ID, most times) ends last: every ending counts,
		// in whatever order they come.
		l.Project(t, "p", lathetest.Repo(t, map[string]string{".lathe.yml": "jobs:\n  a:\n    steps:\n      - sleep 1\n  b:\n    steps:\n      - echo hi\n"}))
		run := l.Trigger(t, "p", "", "")
		if r := l.Wait(t, run.ID, 60*time.Second); r.Status != "success" {
			t.Fatalf("run %s", r.Status)
		}
		// A request no route takes counts as route "other".
		resp, err := http.Get(l.URL + "/api/v1/no-such-route")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Fatalf("GET /api/v1/no-such-route: %s", resp.Status)
		}
		var body string
		for range 200 {
			body = scrape()
			if strings.Contains(body, `lathe_attempts_ended_total{reason="",status="success"} 2`) {
				break
			}
			time.Sleep(25 * time.Millisecond)
		}
		for _, want := range []string{
			`lathe_attempts_ended_total{reason="",status="success"} 2`,
			"\nlathe_attempts_started_total 2\n",
			`lathe_attempt_duration_seconds_count{status="success"} 2`,
			`lathe_step_duration_seconds_count{status="success"} 4`, // the checkouts, sleep 1 and echo hi
			`lathe_db_query_duration_seconds_count{kind="transaction"}`,
			`lathe_db_query_duration_seconds_count{kind="read"}`,
			`lathe_db_query_duration_seconds_count{kind="write"}`,
			"lathe_agents_online 2",
			`lathe_agents_online_by_group{group="builders"} 2`,
			`lathe_agents_online_by_group{group="idle-pool"} 0`,
			"\nlathe_leader 1\n",
			`lathe_http_request_duration_seconds_count{code="201",route="POST /api/v1/projects"} 1`,
			`lathe_http_request_duration_seconds_count{code="404",route="other"} 1`,
			`lathe_http_request_bytes_total{route="POST /api/v1/projects"}`,
			`lathe_http_requests_in_flight{route="POST /api/v1/agent/claim"}`,
			"go_sql_open_connections",
			"lathe_http_requests_in_flight",
		} {
			if !strings.Contains(body, want) {
				t.Errorf("/metrics lacks %q:\n%s", want, body)
			}
		}
	})
}

// scrapeMetrics reads the server's /metrics.
func scrapeMetrics(t *testing.T, l *lathetest.Lathe) string {
	t.Helper()
	resp, err := http.Get(l.Server.MetricsURL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET /metrics: %s", resp.Status)
	}
	return string(b)
}
