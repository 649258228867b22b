package agent_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/agent"
	"github.com/lathe-ci/lathe/internal/lathetest"
	"github.com/lathe-ci/lathe/server"
)

// transferPipeline's job writes a file and keeps it as an artifact.
const transferPipeline = `
jobs:
  keep:
    runs-on: [transfer]
    steps:
      - echo kept > kept.txt
    artifacts:
      paths: [kept.txt]
`

// refusingProxy passes requests on to target, but answers the first
// refusals artifact uploads 503, as a replica whose database is briefly
// down does (refusals < 0: every one).
func refusingProxy(t *testing.T, target string, refusals int64) (proxyURL string, refused *atomic.Int64) {
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(u)
	refused = &atomic.Int64{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut && strings.HasSuffix(r.URL.Path, "/artifacts") && (refusals < 0 || refused.Load() < refusals) {
			refused.Add(1)
			w.Header().Set("Content-Type", "application/problem+json")
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprint(w, `{"title":"Service Unavailable","status":503,"detail":"the database is unreachable"}`)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, refused
}

// An artifact upload the server refuses for a while (its database down for
// a few seconds) is tried again until it is stored: the job succeeds. One
// refused for longer than the agent's patience fails the job for the
// infrastructure, which the attempt's end reason says. The proxy in
// between, Go's httputil.ReverseProxy, drops requests' trailers, as load
// balancers may: the artifact's SHA-256 must travel in a header.
func TestArtifactUploadRidesOutAShortOutage(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name     string
		refusals int64
		patience time.Duration
		want     lathe.Status
		wantEnd  string
	}{
		{"a short outage", 3, 0, lathe.StatusSuccess, ""},
		{"longer than the agent waits", -1, 3 * time.Second, lathe.StatusFailed, "infrastructure: the server did not answer: artifact kept.txt: "},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			l := lathetest.StartConfig(t, server.Config{Log: testLog(t)})
			l.Project(t, "keep", lathetest.Repo(t, map[string]string{".lathe.yml": transferPipeline}))
			proxyURL, refused := refusingProxy(t, l.URL, c.refusals)
			startAgent(t, proxyURL, l.RegistrationToken(t), t.TempDir(), "transfer", []string{"transfer"},
				func(a *agent.Agent) { a.TransferPatience = c.patience })
			run := l.Wait(t, l.Trigger(t, "keep", "", "").ID, 3*time.Minute)
			job := l.Job(t, run.Jobs[0].ID)
			last := job.Attempts[len(job.Attempts)-1]
			log := l.Log(t, job.ID)
			if job.Status != c.want || !strings.HasPrefix(last.EndReason, c.wantEnd) || c.wantEnd == "" && last.EndReason != "" {
				t.Fatalf("job %s, end reason %q after %d refusals, want %s %q; log:\n%s", job.Status, last.EndReason, refused.Load(), c.want, c.wantEnd, log)
			}
			if n := refused.Load(); n < 2 || c.refusals > 0 && n != c.refusals {
				t.Errorf("%d uploads refused, want %d", n, c.refusals)
			}
			if !strings.Contains(log, "trying again in") {
				t.Errorf("the log does not say the upload was tried again:\n%s", log)
			}
		})
	}
}
