package server_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/cli"
	"github.com/lathe-ci/lathe/client"
	"github.com/lathe-ci/lathe/internal/lathetest"
)

// resultsPipeline's test job writes a JUnit report whose results depend on
// the run number: steady always passes, flaky passes on odd runs only,
// broken fails from run 3, fixed fails in runs 1 and 2. It then fails when
// a test failed, so the reports of failing runs are sent too. Its vet.txt
// has one finding in run 1 and a second from run 2. lint always succeeds.
const resultsPipeline = `
jobs:
  test:
    steps:
      - sh gen.sh
    reports:
      junit: ["reports/*.xml"]
      issues: [vet.txt]
  lint:
    steps: [echo lint]
`

const resultsGen = `set -e
n=$LATHE_RUN_NUMBER
mkdir -p reports
res() { if [ "$2" = pass ]; then echo "<testcase classname=\"calc\" name=\"$1\" time=\"0.010\"/>"; else echo "<testcase classname=\"calc\" name=\"$1\" time=\"0.020\"><failure message=\"$1 failed in run $n\">trace</failure></testcase>"; fi; }
flaky=pass; [ $((n % 2)) -eq 0 ] && flaky=fail
broken=pass; [ "$n" -ge 3 ] && broken=fail
fixed=fail; [ "$n" -ge 3 ] && fixed=pass
{
  echo '<?xml version="1.0"?><testsuites><testsuite name="calc">'
  res TestSteady pass; res TestFlaky $flaky; res TestBroken $broken; res TestFixed $fixed
  echo '<testcase classname="calc" name="TestLater"><skipped message="not yet"/></testcase>'
  echo '</testsuite></testsuites>'
} > reports/junit.xml
printf '<testsuites><testsuite name="x">\n<testcase name="a">\n' > reports/broken.xml
echo "calc.go:10:2: unreachable code (govet)" > vet.txt
[ "$n" -ge 2 ] && echo "calc.go:20:5: warning: unused variable 'x' [-Wunused-variable]" >> vet.txt
echo "tests written for run $n"
if [ "$flaky" = fail ] || [ "$broken" = fail ] || [ "$fixed" = fail ]; then exit 1; fi
`

// Five real runs through the real agent: the step writes the JUnit file,
// the agent sends it after the step (which fails when a test fails), the
// server keeps each test's history, change and instability; a malformed
// report is a warning; findings are new or not against the previous run;
// and the builds search, statistics and build times read the same runs.
func TestTestResultsAcrossRuns(t *testing.T) {
	lathetest.Engines(t, func(t *testing.T, o lathetest.Options) {
		l := lathetest.Start(t, o)
		repo := lathetest.Repo(t, map[string]string{".lathe.yml": resultsPipeline, "gen.sh": resultsGen})
		l.Project(t, "calc", repo)
		var runs []*lathe.Run
		for range 5 {
			runs = append(runs, l.Wait(t, l.Trigger(t, "calc", "", "").ID, 90*time.Second))
		}
		for i, r := range runs {
			if r.Status != lathe.StatusFailed || lathetest.JobByName(t, r, "lint").Status != lathe.StatusSuccess {
				t.Fatalf("run %d: %s, lint %s; want failed (tests fail) with lint passing", i+1, r.Status, lathetest.JobByName(t, r, "lint").Status)
			}
		}
		// The results history up to a run: it and the runs before it on
		// its branch, newest first, with their totals.
		var hist struct {
			Items []lathe.RunResults `json:"items"`
		}
		l.Do(t, "GET", fmt.Sprintf("/api/v1/runs/%d/history?limit=3", runs[4].ID), nil, &hist)
		var got []string
		for _, h := range hist.Items {
			got = append(got, fmt.Sprintf("#%d %s %d/%d/%d", h.Number, h.Status, h.Tests.Passed, h.Tests.Failed, h.Tests.Skipped))
		}
		if want := "#5 failed 3/1/1 #4 failed 2/2/1 #3 failed 3/1/1"; strings.Join(got, " ") != want {
			t.Errorf("history up to run 5: %q, want %q", strings.Join(got, " "), want)
		}
		l.Do(t, "GET", fmt.Sprintf("/api/v1/runs/%d/history", runs[1].ID), nil, &hist)
		if len(hist.Items) != 2 || hist.Items[0].ID != runs[1].ID || hist.Items[1].ID != runs[0].ID || hist.Items[1].Tests.Failed != 1 {
			t.Errorf("history up to run 2: %+v", hist.Items)
		}
		testJob := lathetest.JobByName(t, runs[4], "test")
		if log := l.Log(t, testJob.ID); !strings.Contains(log, "reports: reports/junit.xml (junit): 5 entries") ||
			!strings.Contains(log, "reports/broken.xml: line 3: malformed XML") {
			t.Errorf("the job's log does not say what the reports gave:\n%s", log)
		}

		tests := func(run *lathe.Run, query string) lathe.RunTests {
			var rt lathe.RunTests
			l.Do(t, http.MethodGet, fmt.Sprintf("/api/v1/runs/%d/tests%s", run.ID, query), nil, &rt)
			return rt
		}
		byName := func(rt lathe.RunTests) map[string]*lathe.TestResult {
			m := map[string]*lathe.TestResult{}
			for _, r := range rt.Items {
				m[r.Name] = r
			}
			return m
		}
		// Run 3: broken is new, fixed is fixed, flaky passes again (fixed).
		r3 := tests(runs[2], "")
		if want := (lathe.TestTotals{Passed: 3, Failed: 1, Skipped: 1, NewFailures: 1, Fixed: 2}); r3.Totals != want {
			t.Errorf("run 3 totals = %+v, want %+v", r3.Totals, want)
		}
		m3 := byName(r3)
		for name, change := range map[string]string{"TestBroken": "new", "TestFixed": "fixed", "TestFlaky": "fixed", "TestSteady": "same"} {
			if m3[name] == nil || m3[name].Change != change {
				t.Errorf("run 3 %s = %+v, want change %s", name, m3[name], change)
			}
		}
		if b := m3["TestBroken"]; b == nil || b.Status != "failed" || b.Message != "TestBroken failed in run 3" || b.DurationMS != 20 ||
			b.Suite != "calc" || b.Job != "test" {
			t.Errorf("run 3 TestBroken = %+v", b)
		}
		// Run 5: flaky flipped at every run: P F P F P is 4 flips.
		m5 := byName(tests(runs[4], ""))
		if f := m5["TestFlaky"]; f == nil || f.Instability != 4 || f.Change != "fixed" {
			t.Errorf("run 5 TestFlaky = %+v, want instability 4, fixed", f)
		}
		if s := m5["TestSteady"]; s == nil || s.Instability != 0 {
			t.Errorf("run 5 TestSteady = %+v, want instability 0", s)
		}
		if b := m5["TestBroken"]; b == nil || b.Instability != 1 || b.Change != "same" {
			t.Errorf("run 5 TestBroken = %+v, want instability 1, same", b)
		}
		// The warnings of the malformed file.
		if rt := tests(runs[4], ""); len(rt.Warnings) != 1 || rt.Warnings[0].File != "reports/broken.xml" ||
			!strings.Contains(rt.Warnings[0].Message, "malformed XML") || rt.Warnings[0].Job != "test" {
			t.Errorf("warnings = %+v", rt.Warnings)
		}
		// Filters, alone and together.
		names := func(rt lathe.RunTests) []string {
			var out []string
			for _, r := range rt.Items {
				out = append(out, r.Name)
			}
			slices.Sort(out)
			return out
		}
		for query, want := range map[string][]string{
			"?status=failed":                       {"TestBroken", "TestFlaky"},
			"?status=passed,skipped":               {"TestFixed", "TestLater", "TestSteady"},
			"?change=new":                          {"TestFlaky"},
			"?min_instability=2":                   {"TestFlaky"},
			"?min_instability=1&max_instability=1": {"TestBroken", "TestFixed"},
			"?text=FLAKY":                          {"TestFlaky"},
			"?text=failed+in+run":                  {"TestBroken", "TestFlaky"},
			"?job=lint":                            nil,
			"?job=test&status=skipped":             {"TestLater"},
		} {
			if got := names(tests(runs[3], query)); !slices.Equal(got, want) {
				t.Errorf("run 4 tests%s = %v, want %v", query, got, want)
			}
		}
		if code := getStatus(t, l, fmt.Sprintf("/api/v1/runs/%d/tests?status=broken", runs[0].ID)); code != http.StatusBadRequest {
			t.Errorf("status=broken: %d, want 400", code)
		}
		// Paging: two pages of 3 and 2.
		p1 := tests(runs[4], "?limit=3")
		if len(p1.Items) != 3 || p1.Next == nil {
			t.Fatalf("first page = %d items, next %v", len(p1.Items), p1.Next)
		}
		if p2 := tests(runs[4], fmt.Sprintf("?limit=3&before=%d", *p1.Next)); len(p2.Items) != 2 || p2.Next != nil {
			t.Errorf("second page = %d items, next %v", len(p2.Items), p2.Next)
		}

		// The flaky test's history, newest first.
		var h lathe.TestHistory
		l.Do(t, http.MethodGet, fmt.Sprintf("/api/v1/test-cases/%d/history", m5["TestFlaky"].ID), nil, &h)
		var seq []string
		for _, e := range h.Items {
			seq = append(seq, e.Status)
		}
		if h.TestCase.Name != "TestFlaky" || strings.Join(seq, " ") != "passed failed passed failed passed" ||
			h.Items[0].RunID != runs[4].ID || h.Items[4].Instability != 0 {
			t.Errorf("history = %+v (%v)", h.TestCase, seq)
		}

		// Comments, with their author.
		var c lathe.TestComment
		path := fmt.Sprintf("/api/v1/test-cases/%d/comments", m5["TestFlaky"].ID)
		l.Do(t, http.MethodPost, path, map[string]string{"text": "times out on slow agents", "state": "investigating"}, &c)
		var comments lathe.Page[*lathe.TestComment]
		l.Do(t, http.MethodGet, path, nil, &comments)
		if len(comments.Items) != 1 || comments.Items[0].Author != "admin" || comments.Items[0].State != "investigating" ||
			comments.Items[0].Text != "times out on slow agents" {
			t.Errorf("comments = %+v", comments.Items)
		}
		if err := l.Client.Do(context.Background(), http.MethodPost, path, map[string]string{"text": "x", "state": "solved"}, nil); !isStatus(err, http.StatusBadRequest) {
			t.Errorf("state solved: %v, want 400", err)
		}

		// Run issues: the second finding is new in run 2, neither in run 3.
		issues := func(run *lathe.Run, query string) map[string]bool {
			var ri struct {
				Items []*lathe.RunIssue `json:"items"`
				Total int               `json:"total"`
				New   int               `json:"new"`
			}
			l.Do(t, http.MethodGet, fmt.Sprintf("/api/v1/runs/%d/issues%s", run.ID, query), nil, &ri)
			m := map[string]bool{}
			for _, is := range ri.Items {
				m[fmt.Sprintf("%s:%d %s %s %s", is.File, is.Line, is.Severity, is.Symbol, is.Message)] = is.New
			}
			return m
		}
		unreachable, unused := "calc.go:10 error govet unreachable code", "calc.go:20 warning -Wunused-variable unused variable 'x'"
		if got := issues(runs[1], ""); len(got) != 2 || got[unreachable] || !got[unused] {
			t.Errorf("run 2 issues = %v; want %q old and %q new", got, unreachable, unused)
		}
		if got := issues(runs[2], ""); len(got) != 2 || got[unreachable] || got[unused] {
			t.Errorf("run 3 issues = %v; want both old", got)
		}
		if got := issues(runs[1], "?new=true&severity=warning"); len(got) != 1 || !got[unused] {
			t.Errorf("run 2 new warnings = %v", got)
		}
		if got := issues(runs[1], "?symbol=govet&job=test"); len(got) != 1 {
			t.Errorf("run 2 govet issues = %v", got)
		}

		// Builds search.
		builds := func(query string) lathe.Page[*lathe.Build] {
			var p lathe.Page[*lathe.Build]
			l.Do(t, http.MethodGet, "/api/v1/builds"+query, nil, &p)
			return p
		}
		if p := builds("?project=calc&job=lint&result=success"); len(p.Items) != 5 || p.Items[0].RunID != runs[4].ID ||
			p.Items[0].Agent == "" || p.Items[0].DurationMS == nil || p.Items[0].Pipeline != "main" || p.Items[0].Branch != "main" {
			t.Errorf("lint builds = %d, first %+v", len(p.Items), p.Items[0])
		}
		if p := builds("?job=test&result=failed&branch=main&pipeline=main"); len(p.Items) != 5 {
			t.Errorf("failed test builds = %d, want 5", len(p.Items))
		}
		if p := builds("?job=test&result=success"); len(p.Items) != 0 {
			t.Errorf("successful test builds = %d, want 0", len(p.Items))
		}
		// Zuul's ref filter: a full ref or its short name.
		for _, ref := range []string{"main", "refs/heads/main"} {
			if p := builds("?job=lint&ref=" + url.QueryEscape(ref)); len(p.Items) != 5 {
				t.Errorf("lint builds of ref %s = %d, want 5", ref, len(p.Items))
			}
		}
		if p := builds("?ref=refs/heads/nope"); len(p.Items) != 0 {
			t.Errorf("builds of a ref nothing ran = %d", len(p.Items))
		}
		agent := builds("?job=lint&limit=1").Items[0].Agent
		if p := builds("?agent=" + url.QueryEscape(agent) + "&limit=200"); len(p.Items) == 0 || p.Items[0].Agent != agent {
			t.Errorf("builds on agent %s = %+v", agent, p.Items)
		}
		if p := builds("?min_duration=3600"); len(p.Items) != 0 {
			t.Errorf("builds of an hour or more = %d", len(p.Items))
		}
		if p := builds("?since=" + url.QueryEscape(time.Now().Add(time.Hour).Format(time.RFC3339))); len(p.Items) != 0 {
			t.Errorf("builds finished in the future = %d", len(p.Items))
		}
		if p := builds("?until=" + url.QueryEscape(time.Now().Add(time.Hour).Format(time.RFC3339)) + "&project=calc"); len(p.Items) != 10 {
			t.Errorf("builds until an hour from now = %d, want 10", len(p.Items))
		}
		first := builds("?project=calc&limit=4")
		if len(first.Items) != 4 || first.Next == nil {
			t.Fatalf("first page of builds = %d, next %v", len(first.Items), first.Next)
		}
		if rest := builds(fmt.Sprintf("?project=calc&limit=200&before=%d", *first.Next)); len(rest.Items) != 6 {
			t.Errorf("the rest of the builds = %d, want 6", len(rest.Items))
		}

		// Statistics and build times.
		var st lathe.RunStats
		l.Do(t, http.MethodGet, "/api/v1/projects/calc/stats?branch=main&pipeline=main", nil, &st)
		if st.Total != 5 || st.LastWeek != 5 || st.LastMonth != 5 || len(st.Durations) != 5 || st.AvgDurationMS == nil ||
			st.AvgDurationLastWeekMS == nil || st.Durations[0].RunID != runs[0].ID || st.Durations[4].RunID != runs[4].ID {
			t.Errorf("stats = %+v", st)
		}
		l.Do(t, http.MethodGet, "/api/v1/projects/calc/stats?branch=other", nil, &st)
		if st.Total != 0 || st.AvgDurationMS != nil || len(st.Durations) != 0 {
			t.Errorf("stats of a branch without runs = %+v", st)
		}
		// The CLI shows the same.
		cliOut := func(args ...string) string {
			var out, errOut strings.Builder
			env := &cli.Env{Stdout: &out, Stderr: &errOut, Getenv: func(string) string { return "" }}
			if code := cli.Run(context.Background(), append(args, "--server", l.URL, "--token", l.AdminToken), env); code != 0 {
				t.Fatalf("lathe %v: exit %d: %s", args, code, errOut.String())
			}
			return out.String()
		}
		if out := cliOut("tests", fmt.Sprint(runs[2].ID), "--change", "new"); !strings.Contains(out, "new failures 1, fixed 2") ||
			!strings.Contains(out, "TestBroken") || strings.Contains(out, "TestSteady") {
			t.Errorf("lathe tests:\n%s", out)
		}
		if out := cliOut("issues", fmt.Sprint(runs[1].ID)); !strings.Contains(out, "2 issues, 1 new") ||
			!strings.Contains(out, "+ calc.go:20:5: warning: unused variable 'x' [-Wunused-variable] (test)") {
			t.Errorf("lathe issues:\n%s", out)
		}
		if out := cliOut("builds", "--project", "calc", "--job", "lint"); strings.Count(out, "lint") != 5 {
			t.Errorf("lathe builds:\n%s", out)
		}
		if out := cliOut("stats", "calc", "--job", "test"); !strings.Contains(out, "runs: 5 in all") || !strings.Contains(out, "job test: 5 builds") {
			t.Errorf("lathe stats:\n%s", out)
		}
		var bt lathe.BuildTimes
		l.Do(t, http.MethodGet, "/api/v1/projects/calc/build-times?job=test", nil, &bt)
		if bt.Count != 5 || len(bt.Items) != 5 || bt.P50MS == nil || bt.P99MS == nil || *bt.MinMS > *bt.P50MS ||
			*bt.P50MS > *bt.P99MS || *bt.P99MS != *bt.MaxMS {
			t.Errorf("build times = %+v", bt)
		}
	})
}

func getStatus(t *testing.T, l *lathetest.Lathe, path string) int {
	t.Helper()
	code, _ := getUnchecked(t, l, path)
	return code
}

func isStatus(err error, code int) bool {
	e, ok := err.(*client.Error)
	return ok && e.Status == code
}
