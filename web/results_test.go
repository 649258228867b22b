package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/internal/lathetest"
)

// resultsPipeline's test job writes a JUnit report that depends on the run
// number (steady always passes, flaky fails on even runs, broken fails from
// run 3, fixed fails in runs 1 and 2), a findings file (a second finding
// from run 2), and a file kept as an artifact; it fails when a test fails.
const resultsPipeline = `name: ci
jobs:
  test:
    steps:
      - sh gen.sh
    reports:
      junit: ["reports/*.xml"]
      issues: [vet.txt]
    artifacts:
      paths: [dist/**]
      when: always
  lint:
    steps: [echo lint]
`

const resultsGen = `set -e
n=$LATHE_RUN_NUMBER
mkdir -p reports dist
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
echo "calc.go:10:2: unreachable code (govet)" > vet.txt
[ "$n" -ge 2 ] && echo "calc.go:20:5: warning: unused variable 'x' [-Wunused-variable]" >> vet.txt
echo "the binary of run $n" > dist/calc.bin
if [ "$flaky" = fail ] || [ "$broken" = fail ] || [ "$fixed" = fail ]; then exit 1; fi
`

// rowsOf is the data-test (or other attribute) values of the rows of the
// table matched by sel, in page order.
func rowsOf(t *testing.T, ctx context.Context, sel, attr string) []string {
	t.Helper()
	got, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](fmt.Sprintf(
		`Array.from(document.querySelectorAll(%q)).map(r => r.getAttribute(%q))`, sel, attr)))
	if err != nil {
		t.Fatalf("%s: %v", sel, err)
	}
	return got
}

// Five real runs through a real agent, then what a user sees of them in
// Chromium: a run's Tests tab (totals, new failures and fixes marked, each
// filter of the API through the form), a test case's history with its
// instability and comments (added through the form by a writer, not
// offered to a reader, whom the API refuses anyway), the Issues tab with
// new findings marked, the Artifacts tab whose link downloads the file,
// and the branch's statistics with the duration chart drawn as SVG.
func TestBrowserRunResultsTestCaseAndStats(t *testing.T) {
	ctx := browser(t, 4*time.Minute)
	l := lathetest.Start(t, lathetest.Options{})
	l.Project(t, "calc", lathetest.Repo(t, map[string]string{".lathe.yml": resultsPipeline, "gen.sh": resultsGen}))
	var runs []*lathe.Run
	for range 5 {
		runs = append(runs, l.Wait(t, l.Trigger(t, "calc", "", "").ID, 90*time.Second))
	}
	if runs[4].Status != lathe.StatusFailed {
		t.Fatalf("run 5: %s, want failed (a test fails)", runs[4].Status)
	}
	pw := member(t, l, "dev", "calc", "write")
	readerPW := member(t, l, "viewer", "calc", "read")
	signInBrowser(t, ctx, l.URL, "dev", pw)

	// Run 3's Tests tab: broken is a new failure, fixed and flaky are fixes.
	r3 := runs[2]
	if err := chromedp.Do(ctx, chromedp.Navigate(fmt.Sprintf("%s/runs/%d", l.URL, r3.ID)),
		chromedp.Click(fmt.Sprintf(`nav.tabs a[href="/runs/%d/tests"]`, r3.ID)), chromedp.WaitVisible("table.tests")); err != nil {
		t.Fatalf("open the Tests tab: %v", err)
	}
	totals, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]string](
		`Object.fromEntries(Array.from(document.querySelectorAll("ul.totals li")).map(li => [li.dataset.total, li.querySelector("strong").textContent]))`))
	if err != nil || fmt.Sprint(totals) != "map[error:0 failed:1 fixed:2 flaky:0 new_failures:1 passed:3 skipped:1]" {
		t.Errorf("run 3 totals %v (%v)", totals, err)
	}
	changes, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]string](`Object.fromEntries(Array.from(
		document.querySelectorAll("table.tests tbody tr")).map(r => [r.dataset.test, r.dataset.change + ":" + r.className + ":" +
		(r.querySelector(".tag.change-new, .tag.change-fixed") || {textContent: ""}).textContent]))`))
	want := map[string]string{"TestBroken": "new:change-new:new failure", "TestFixed": "fixed:change-fixed:fixed",
		"TestFlaky": "fixed:change-fixed:fixed", "TestSteady": "same::", "TestLater": "same::"}
	if err != nil || fmt.Sprint(changes) != fmt.Sprint(want) {
		t.Errorf("run 3 rows %v (%v), want %v", changes, err, want)
	}
	// A new failure stands out by more than its word: the row has a bar.
	if bar, err := chromedp.Run(ctx, chromedp.Evaluate[string](`getComputedStyle(document.querySelector('tr[data-test="TestBroken"]')).boxShadow`)); err != nil || bar == "none" {
		t.Errorf("the new failure's row is not marked: %q (%v)", bar, err)
	}
	checkPage(t, ctx, "tests tab")
	screenshot(t, ctx, "tests")

	// Run 5 through the form: each filter, then two together.
	r5 := runs[4]
	tests := fmt.Sprintf("%s/runs/%d/tests", l.URL, r5.ID)
	for _, c := range []struct {
		name    string
		actions []chromedp.Action[chromedp.Void]
		want    []string
	}{
		{"status failed", []chromedp.Action[chromedp.Void]{chromedp.Click(`#f-status-1`)}, []string{"TestBroken"}},
		{"change fixed", []chromedp.Action[chromedp.Void]{chromedp.Click(`#f-change-1`)}, []string{"TestFlaky"}},
		{"instability 2 to 9", []chromedp.Action[chromedp.Void]{chromedp.SendKeys(`#f-min`, "2")}, []string{"TestFlaky"}},
		{"instability 1 to 1", []chromedp.Action[chromedp.Void]{chromedp.SendKeys(`#f-min`, "1"), chromedp.SendKeys(`#f-max`, "1")}, []string{"TestBroken", "TestFixed"}},
		{"text", []chromedp.Action[chromedp.Void]{chromedp.SendKeys(`#f-text`, "steady")}, []string{"TestSteady"}},
		{"job lint", []chromedp.Action[chromedp.Void]{chromedp.SetValue(`#f-job`, "lint")}, nil},
		{"passed and instability 1", []chromedp.Action[chromedp.Void]{chromedp.Click(`#f-status-0`), chromedp.SendKeys(`#f-min`, "1")}, []string{"TestFixed", "TestFlaky"}},
	} {
		acts := append([]chromedp.Action[chromedp.Void]{chromedp.Navigate(tests), chromedp.WaitVisible("#f-text")}, c.actions...)
		acts = append(acts, chromedp.Click(`form.filters button[type=submit]`), chromedp.WaitVisible(`a[href$="/tests"][aria-current="page"]`))
		if err := chromedp.Do(ctx, acts...); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		waitJS(t, ctx, `location.search !== ""`, true)
		// The filtered page may still be loading when the URL changes:
		// wait for its rows rather than reading them once.
		waitJS(t, ctx, `Array.from(document.querySelectorAll("table.tests tbody tr[data-test]")).map(r => r.dataset.test).sort().join(",")`,
			strings.Join(c.want, ","))
	}
	screenshot(t, ctx, "tests-filtered")

	// The flaky test's page: five results, newest first, and its instability.
	if err := chromedp.Do(ctx, chromedp.Navigate(tests), chromedp.Click(`tr[data-test="TestFlaky"] a`), chromedp.WaitVisible("#test-case")); err != nil {
		t.Fatal(err)
	}
	hist := rowsOf(t, ctx, "table.history tbody tr", "data-status")
	if !slices.Equal(hist, []string{"passed", "failed", "passed", "failed", "passed"}) {
		t.Errorf("TestFlaky's history %v", hist)
	}
	cells := rowsOf(t, ctx, "svg.strip .cell", "data-status")
	if !slices.Equal(cells, []string{"passed", "failed", "passed", "failed", "passed"}) {
		t.Errorf("the strip, oldest first: %v", cells)
	}
	if inst, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("dd[data-instability]").dataset.instability`)); err != nil || inst != "4" {
		t.Errorf("TestFlaky's instability %q (%v), want 4", inst, err)
	}
	caseURL, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.pathname`))
	if err != nil {
		t.Fatal(err)
	}
	// An empty comment is refused with the API's reason, then one is kept.
	if err := chromedp.Do(ctx, chromedp.Click(`form.comment-form button[type=submit]`), chromedp.WaitVisible(`form.comment-form .problem`)); err != nil {
		t.Fatalf("empty comment: %v", err)
	}
	if err := chromedp.Do(ctx, chromedp.SendKeys("#c-text", "Races with the clock; see <b>#12</b>"), chromedp.SetValue("#c-state", "investigating"),
		chromedp.Click(`form.comment-form button[type=submit]`), chromedp.WaitVisible(`ol.comments li[data-comment]`)); err != nil {
		t.Fatalf("add a comment: %v", err)
	}
	comment, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(c => c.querySelector(".author").textContent + "|" + c.querySelector("[data-state]").dataset.state + "|" + c.querySelector(".text").textContent)(document.querySelector("ol.comments li[data-comment]"))`))
	if err != nil || comment != "dev|investigating|Races with the clock; see <b>#12</b>" {
		t.Errorf("the comment shows as %q (%v)", comment, err)
	}
	checkPage(t, ctx, "test case page")
	screenshot(t, ctx, "test-case")
	// A reader sees the comments and no form; posting anyway is refused.
	reader := newBrowserless(t, l.URL)
	reader.signIn("viewer", readerPW)
	code, _, body := reader.get(caseURL)
	if code != http.StatusOK || !strings.Contains(body, "Races with the clock") || strings.Contains(body, "comment-form") {
		t.Errorf("the reader's test case page: %d, form offered: %v", code, strings.Contains(body, "comment-form"))
	}
	code, _, body = reader.post(caseURL+"/comments", url.Values{"csrf": {reader.csrf(caseURL)}, "text": {"mine"}, "state": {"open"}})
	if code != http.StatusForbidden || !strings.Contains(body, "needs write on project calc") {
		t.Errorf("a reader's comment: %d\n%s", code, body)
	}

	// Issues of run 2: the second finding is new, and the filter keeps it.
	r2 := runs[1]
	if err := chromedp.Do(ctx, chromedp.Navigate(fmt.Sprintf("%s/runs/%d/issues", l.URL, r2.ID)), chromedp.WaitVisible("table.issues")); err != nil {
		t.Fatal(err)
	}
	if n := rowsOf(t, ctx, "table.issues tbody tr[data-new]", "data-issue"); len(n) != 1 || len(rowsOf(t, ctx, "table.issues tbody tr[data-issue]", "data-issue")) != 2 {
		t.Errorf("run 2's issues: %d new of %v", len(n), rowsOf(t, ctx, "table.issues tbody tr[data-issue]", "data-issue"))
	}
	if err := chromedp.Do(ctx, chromedp.SetValue("#f-new", "true"), chromedp.Click(`form.filters button[type=submit]`)); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, `new URLSearchParams(location.search).get("new")`, "true")
	// The address changes as the filtered page starts to load; its table
	// may be parsed a moment later.
	waitJS(t, ctx, `Array.from(document.querySelectorAll("table.issues tbody tr[data-issue] td:nth-child(2) code")).map(c => c.textContent).join(",")`, "calc.go:20:5")
	checkPage(t, ctx, "issues tab")
	screenshot(t, ctx, "issues")

	// Artifacts of run 5: the link downloads the file the step wrote.
	if err := chromedp.Do(ctx, chromedp.Navigate(fmt.Sprintf("%s/runs/%d/artifacts", l.URL, r5.ID)), chromedp.WaitVisible("table.artifacts")); err != nil {
		t.Fatal(err)
	}
	fetched, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(async () => {
		const a = document.querySelector("table.artifacts a[download]");
		const z = document.querySelector("a[data-zip]");
		const r = await fetch(a.href), zr = await fetch(z.href);
		return a.textContent + "|" + r.status + "|" + (await r.text()) + "|" + zr.status + "|" + zr.headers.get("content-type");
	})()`, chromedp.EvalAwaitPromise))
	if err != nil || fetched != "dist/calc.bin|200|the binary of run 5\n|200|application/zip" {
		t.Errorf("the artifact's link: %q (%v)", fetched, err)
	}
	checkPage(t, ctx, "artifacts tab")
	screenshot(t, ctx, "artifacts")

	// The default branch's statistics: five runs, a bar each, drawn on the server.
	if err := chromedp.Do(ctx, chromedp.Navigate(l.URL+"/p/calc"), chromedp.Click(`a[href="/p/calc/stats"]`), chromedp.WaitVisible("svg.chart")); err != nil {
		t.Fatalf("open the statistics: %v", err)
	}
	bars := rowsOf(t, ctx, "svg.chart a.bar", "data-run")
	var wantBars []string
	for _, r := range runs {
		wantBars = append(wantBars, fmt.Sprint(r.ID))
	}
	if !slices.Equal(bars, wantBars) {
		t.Errorf("bars %v, want the runs oldest first %v", bars, wantBars)
	}
	// The longest run has the tallest bar; every bar is in the chart's box.
	shape, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(() => {
		const bars = Array.from(document.querySelectorAll("svg.chart a.bar"));
		const ms = bars.map(b => Number(b.dataset.durationMs)), h = bars.map(b => b.querySelector("rect").getBBox().height);
		const svg = document.querySelector("svg.chart").getBoundingClientRect();
		const inside = bars.every(b => { const r = b.getBoundingClientRect(); return r.top >= svg.top && r.bottom <= svg.bottom + 0.5 && r.height > 0; });
		return (ms.indexOf(Math.max(...ms)) === h.indexOf(Math.max(...h))) + "|" + inside + "|" + document.scripts.length;
	})()`))
	if err != nil || shape != "true|true|1" {
		t.Errorf("chart: tallest is longest | inside | scripts = %q (%v)", shape, err)
	}
	total, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('[data-stat="runs_total"]').textContent + "|" + document.querySelector("tr[data-builds]").dataset.builds`))
	if err != nil || total != "5|10" {
		t.Errorf("runs total | builds = %q (%v), want 5|10", total, err)
	}
	checkPage(t, ctx, "stats page")
	screenshot(t, ctx, "stats")

	// Every page at 375 px in the dark theme: nothing scrolls sideways.
	dark := []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}}
	if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Features: dark}); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(375, 800)); err != nil {
		t.Fatal(err)
	}
	for _, page := range []string{fmt.Sprintf("/runs/%d/tests", r5.ID), fmt.Sprintf("/runs/%d/issues", r5.ID), fmt.Sprintf("/runs/%d/artifacts", r5.ID),
		caseURL, "/p/calc/stats"} {
		if err := chromedp.Do(ctx, chromedp.Navigate(l.URL+page), chromedp.WaitVisible("#main")); err != nil {
			t.Fatal(err)
		}
		checkPage(t, ctx, page+" at 375 px")
		screenshot(t, ctx, "375-dark"+strings.ReplaceAll(page, "/", "_"))
	}
}
