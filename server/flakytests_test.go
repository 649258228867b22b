package server_test

import (
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/internal/lathetest"
)

// retriedPipeline's job writes a JUnit report as a runner that retries a
// failed test writes it (Gradle's test-retry, go test -count): TestRetried
// failed and then passed; TestSteady passed once.
const retriedPipeline = `
jobs:
  test:
    steps:
      - |
        mkdir -p reports
        cat > reports/junit.xml <<'XML'
        <testsuite name="calc">
          <testcase classname="calc" name="TestRetried" time="0.5"><failure message="timed out">trace</failure></testcase>
          <testcase classname="calc" name="TestSteady" time="0.1"/>
          <testcase classname="calc" name="TestRetried" time="0.25"/>
        </testsuite>
        XML
    reports:
      junit: ["reports/*.xml"]
`

// A test that failed and then passed on a retry within its job is one
// result: passed, flaky, with the failure's message, counted in the run's
// totals and its history, and selected by ?flaky=.
func TestATestRetriedWithinItsJobIsFlaky(t *testing.T) {
	lathetest.Engines(t, func(t *testing.T, o lathetest.Options) {
		l := lathetest.Start(t, o)
		l.Project(t, "calc", lathetest.Repo(t, map[string]string{".lathe.yml": retriedPipeline}))
		run := l.Wait(t, l.Trigger(t, "calc", "", "").ID, time.Minute)
		if run.Status != lathe.StatusSuccess {
			t.Fatalf("run %s", run.Status)
		}
		tests := func(query string) lathe.RunTests {
			var rt lathe.RunTests
			l.Do(t, http.MethodGet, fmt.Sprintf("/api/v1/runs/%d/tests%s", run.ID, query), nil, &rt)
			return rt
		}
		names := func(rt lathe.RunTests) []string {
			var out []string
			for _, r := range rt.Items {
				out = append(out, r.Name)
			}
			slices.Sort(out)
			return out
		}
		all := tests("")
		if want := (lathe.TestTotals{Passed: 2, NewFailures: 0, Flaky: 1}); all.Totals != want {
			t.Errorf("totals %+v, want %+v", all.Totals, want)
		}
		var retried *lathe.TestResult
		for _, r := range all.Items {
			if r.Name == "TestRetried" {
				retried = r
			}
		}
		if retried == nil || retried.Status != "passed" || !retried.Flaky || retried.Message != "timed out" || retried.DurationMS != 750 {
			t.Fatalf("TestRetried = %+v, want passed, flaky, \"timed out\", 750 ms", retried)
		}
		if got := names(tests("?flaky=true")); !slices.Equal(got, []string{"TestRetried"}) {
			t.Errorf("?flaky=true: %v", got)
		}
		if got := names(tests("?flaky=false")); !slices.Equal(got, []string{"TestSteady"}) {
			t.Errorf("?flaky=false: %v", got)
		}
		var hist lathe.TestHistory
		l.Do(t, http.MethodGet, fmt.Sprintf("/api/v1/test-cases/%d/history", retried.ID), nil, &hist)
		if len(hist.Items) != 1 || !hist.Items[0].Flaky || hist.Items[0].Status != "passed" {
			t.Errorf("TestRetried's history %+v, want one flaky pass", hist.Items)
		}
		var runs struct {
			Items []lathe.RunResults `json:"items"`
		}
		l.Do(t, http.MethodGet, fmt.Sprintf("/api/v1/runs/%d/history", run.ID), nil, &runs)
		if len(runs.Items) != 1 || runs.Items[0].Tests.Flaky != 1 {
			t.Errorf("the run's results history %+v, want 1 flaky", runs.Items)
		}
	})
}
