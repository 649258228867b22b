package web_test

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/lathe-ci/lathe/internal/lathetest"
)

// The benchmarks report each page's server time beside a floor measured
// in the same run: the API's own JSON answer for the same data, over the
// same loopback connection with the same session.

// session signs in a new admin through the API and returns its cookie value.
func session(b testing.TB, l *lathetest.Lathe) string {
	l.Do(b, http.MethodPost, "/api/v1/users", map[string]any{"name": "bench", "password": "bench-password", "admin": true}, nil)
	resp, err := http.Post(l.URL+"/api/v1/sessions", "application/json", strings.NewReader(`{"username":"bench","password":"bench-password"}`))
	if err != nil {
		b.Fatal(err)
	}
	resp.Body.Close()
	for _, c := range resp.Cookies() {
		if c.Name == "lathe_session" {
			return c.Value
		}
	}
	b.Fatalf("no session cookie: %d", resp.StatusCode)
	return ""
}

// timeGET returns the mean time of n GETs of path with the session.
func timeGET(b *testing.B, c *http.Client, url, cookie string, n int) time.Duration {
	start := time.Now()
	for range n {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		req.AddCookie(&http.Cookie{Name: "lathe_session", Value: cookie})
		resp, err := c.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("GET %s: %d", url, resp.StatusCode)
		}
	}
	return time.Since(start) / time.Duration(n)
}

func benchPage(b *testing.B, l *lathetest.Lathe, page, floor string) {
	cookie := session(b, l)
	c := &http.Client{}
	timeGET(b, c, l.URL+page, cookie, 3) // warm
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		timeGET(b, c, l.URL+page, cookie, 1)
	}
	per := time.Since(start) / time.Duration(b.N)
	b.StopTimer()
	fl := timeGET(b, c, l.URL+floor, cookie, max(b.N, 5))
	b.ReportMetric(float64(per.Microseconds())/1000, "page-ms")
	b.ReportMetric(float64(fl.Microseconds())/1000, "api-floor-ms")
	b.ReportMetric(float64(per)/float64(fl), "x-floor")
}

// BenchmarkRunPage200Jobs renders the run page of a run of 200 jobs
// (needs edges between them); the floor is GET /api/v1/runs/{run}.
func BenchmarkRunPage200Jobs(b *testing.B) {
	l := lathetest.Start(b, lathetest.Options{Agents: -1})
	var y strings.Builder
	y.WriteString("name: big\nstages: [a, b, c, d]\njobs:\n")
	for i := range 200 {
		fmt.Fprintf(&y, "  j%03d:\n    stage: %c\n", i, 'a'+i/50)
		if i >= 50 {
			fmt.Fprintf(&y, "    needs: [j%03d, j%03d]\n", i-50, (i-49)%50+(i/50-1)*50)
		}
		y.WriteString("    steps: [true]\n")
	}
	l.Project(b, "big", lathetest.Repo(b, map[string]string{".lathe.yml": y.String()}))
	run := l.Trigger(b, "big", "", "")
	if n := len(l.Run(b, run.ID).Jobs); n != 200 {
		b.Fatalf("%d jobs", n)
	}
	benchPage(b, l, fmt.Sprintf("/runs/%d", run.ID), fmt.Sprintf("/api/v1/runs/%d", run.ID))
}

// BenchmarkRunsList50 renders a project page listing 50 runs; the floor
// is GET /api/v1/projects/{project}/runs?limit=50.
func BenchmarkRunsList50(b *testing.B) {
	l := lathetest.Start(b, lathetest.Options{Agents: -1})
	l.Project(b, "app", lathetest.Repo(b, map[string]string{".lathe.yml": "name: ci\njobs:\n  a:\n    steps: [true]\n"}))
	for range 50 {
		l.Trigger(b, "app", "", "")
	}
	benchPage(b, l, "/p/app", "/api/v1/projects/app/runs?limit=50")
}

// BenchmarkBrowserFirstLogLine measures, in Chromium, how long after a
// plain SSE client on the same log stream receives a line of a running job
// the job page shows it (the stream delivers a line once it is stored).
func BenchmarkBrowserFirstLogLine(b *testing.B) {
	ctx := browser(b, 5*time.Minute)
	l := lathetest.Start(b, lathetest.Options{})
	l.Project(b, "app", lathetest.Repo(b, map[string]string{".lathe.yml": "name: ci\njobs:\n  a:\n    steps: ['sleep 3; echo MARK-LINE; sleep 60']\n"}))
	signInBrowser(b, ctx, l.URL, "dev", member(b, l, "dev", "app", "write"))
	var total time.Duration
	for range b.N {
		run := l.Trigger(b, "app", "", "")
		job := lathetest.JobByName(b, l.Run(b, run.ID), "a")
		if err := chromedp.Do(ctx, chromedp.Navigate(fmt.Sprintf("%s/jobs/%d", l.URL, job.ID)), chromedp.WaitVisible("#log")); err != nil {
			b.Fatal(err)
		}
		// Record, in the page, when the line shows.
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => { new MutationObserver((_, o) => {
			if (document.getElementById("log").textContent.includes("MARK-LINE")) { window.__mark = Date.now(); o.disconnect(); }
		}).observe(document.getElementById("log"), {childList: true, subtree: true}); return true })()`)); err != nil {
			b.Fatal(err)
		}
		// A plain SSE client on the same stream is the floor: it gets
		// the line as soon as the server sends it.
		received := sseReceive(b, l, job.ID, "MARK-LINE")
		var shown int64
		for range 2000 {
			v, err := chromedp.Run(ctx, chromedp.Evaluate[int64](`window.__mark || 0`))
			if err == nil && v > 0 {
				shown = v
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		if shown == 0 {
			b.Fatal("the line never showed")
		}
		total += time.UnixMilli(shown).Sub(received)
		l.Do(b, http.MethodPost, fmt.Sprintf("/api/v1/runs/%d/cancel", run.ID), nil, nil)
	}
	b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms-after-sse-client")
}

// BenchmarkBrowserLog200k opens the finished log of 200,000 lines and
// reports the time to its first line, to its last, and the longest the
// page's script held the main thread at once (the tab stays responsive
// when that stays short).
func BenchmarkBrowserLog200k(b *testing.B) {
	logLines := 200000
	if n, err := strconv.Atoi(os.Getenv("LATHE_BENCH_LOG_LINES")); err == nil {
		logLines = n // a smaller log for a quick look
	}
	ctx := browser(b, 5*time.Minute)
	l := lathetest.Start(b, lathetest.Options{})
	l.Project(b, "app", lathetest.Repo(b, map[string]string{".lathe.yml": fmt.Sprintf("name: ci\njobs:\n  a:\n    steps: ['seq -f \"line %%g of a long log with some text\" 1 %d']\n", logLines)}))
	signInBrowser(b, ctx, l.URL, "dev", member(b, l, "dev", "app", "read"))
	run := l.Trigger(b, "app", "", "")
	l.Wait(b, run.ID, 2*time.Minute)
	job := lathetest.JobByName(b, l.Run(b, run.ID), "a")
	var first, done, block float64
	for range b.N {
		if err := chromedp.Do(ctx, chromedp.Navigate(fmt.Sprintf("%s/jobs/%d", l.URL, job.ID))); err != nil {
			b.Fatal(err)
		}
		var lines string
		for range 3000 {
			v, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("log").dataset.lines || ""`))
			if err == nil && v != "" {
				lines = v
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		if lines != fmt.Sprint(logLines+2) && lines != fmt.Sprint(logLines+1) {
			st, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("log-state").textContent + " / " + document.querySelectorAll("#log .line").length`))
			b.Fatalf("the page shows %q lines (%s)", lines, st)
		}
		m, err := chromedp.Run(ctx, chromedp.Evaluate[[]float64](`[window.__latheFirstLine - performance.timeOrigin, window.__latheLogDone - performance.timeOrigin, window.__latheMaxBlock]`))
		if err != nil {
			b.Fatal(err)
		}
		first, done, block = first+m[0], done+m[1], max(block, m[2])
		extra, _ := chromedp.Run(ctx, chromedp.Evaluate[[]float64](`[window.__latheJS, window.__latheFrames]`))
		b.Logf("script time %v ms over %v frames", extra[0], extra[1])
	}
	b.ReportMetric(first/float64(b.N), "ms-to-first-line")
	b.ReportMetric(done/float64(b.N), "ms-to-all-lines")
	b.ReportMetric(block, "ms-longest-block")
}

// sseReceive follows the job's log stream as a plain client and returns
// when a chunk holding want arrived.
func sseReceive(b *testing.B, l *lathetest.Lathe, jobID int64, want string) time.Time {
	req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("%s/api/v1/jobs/%d/log/stream", l.URL, jobID), nil)
	req.Header.Set("Authorization", "Bearer "+l.AdminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 4<<20)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "data:") && strings.Contains(sc.Text(), want) {
			return time.Now()
		}
	}
	b.Fatalf("the stream ended without %q", want)
	return time.Time{}
}
