package web_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/internal/lathetest"
)

// The browser tests drive a real headless Chromium against a real server
// with real agents: what a user does, through the pages' own forms and
// script. Each starts and stops its own browser.

const paramPipeline = `name: ci
parameters:
  target: {type: choice, choices: [staging, production], default: staging}
  note: {type: string, default: hello}
jobs:
  work:
    steps:
      - name: talk
        run: 'echo "note=$PARAM_NOTE target=$PARAM_TARGET"; printf "\033[31mred\033[0m\n"; printf "progress 10%%\rprogress 100%%\n\033[38;5;196mhot\033[0m\n"; sleep 120; echo late'
`

// signInBrowser signs in through the sign-in page.
func signInBrowser(t testing.TB, ctx context.Context, base, user, password string) {
	t.Helper()
	err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/login"),
		chromedp.SendKeys("#username", user),
		chromedp.SendKeys("#password", password),
		chromedp.Click(`form[action="/login"] button[type=submit]`),
		chromedp.WaitVisible(".who .user"),
	)
	if err != nil {
		t.Fatalf("sign in as %s: %v", user, err)
	}
}

func TestBrowserTriggerWithParameterAndFollowLog(t *testing.T) {
	ctx := browser(t, 3*time.Minute)
	l := lathetest.Start(t, lathetest.Options{})
	l.Project(t, "app", lathetest.Repo(t, map[string]string{".lathe.yml": paramPipeline}))
	pw := member(t, l, "dev", "app", "write")

	signInBrowser(t, ctx, l.URL, "dev", pw)
	screenshot(t, ctx, "home")
	err := chromedp.Do(ctx,
		chromedp.Navigate(l.URL+"/p/app"),
		chromedp.Click(`a[href="/p/app/run"]`),
		chromedp.WaitVisible("#param-0-note"),
		chromedp.Clear("#param-0-note"),
		chromedp.SendKeys("#param-0-note", "from-the-form"),
		chromedp.SetValue("#param-0-target", "production"),
	)
	if err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "project")
	if err := chromedp.Do(ctx, chromedp.Click(`form.run-form button[type=submit]`), chromedp.WaitVisible("#run")); err != nil {
		t.Fatalf("run the pipeline from the form: %v", err)
	}
	runID, err := chromedp.Run(ctx, chromedp.Evaluate[int64](`Number(document.getElementById("run").dataset.run)`))
	if err != nil || runID == 0 {
		t.Fatalf("no run on the run page (%v)", err)
	}
	screenshot(t, ctx, "run")
	run := l.Run(t, runID)
	if got := fmt.Sprint(run.Params); got != "[{target production} {note from-the-form}]" {
		t.Errorf("the run's parameters are %s", got)
	}
	job := lathetest.JobByName(t, run, "work")

	// The job page follows the log live: the first lines show while the
	// step still runs (it sleeps), colours and all.
	if err := chromedp.Do(ctx, chromedp.Navigate(fmt.Sprintf("%s/jobs/%d", l.URL, job.ID))); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.getElementById("log").textContent.includes("note=from-the-form target=production")`)); err != nil {
		t.Fatalf("the log line never showed: %v", err)
	}
	if st := l.Job(t, job.ID).Status; st != lathe.StatusRunning {
		t.Fatalf("the job is %s: the line was not shown live", st)
	}
	red, err := chromedp.Run(ctx, chromedp.Poll[string](`(document.querySelector("#log .line .f1") || {}).textContent`))
	if err != nil || red != "red" {
		t.Errorf("ANSI red: %q %v", red, err)
	}
	// 256 colours show as the nearest of the 16 (196 is bright red); a
	// carriage return starts its line over, as a terminal shows it.
	if hot, err := chromedp.Run(ctx, chromedp.Poll[string](`(document.querySelector("#log .line .f9") || {}).textContent`)); err != nil || hot != "hot" {
		t.Errorf("ANSI 256-colour red: %q %v", hot, err)
	}
	progress, err := chromedp.Run(ctx, chromedp.Poll[string](`(Array.from(document.querySelectorAll("#log .line")).find((l) => !l.textContent.includes("$ ") && l.textContent.includes("progress")) || {}).textContent`))
	if err != nil || !strings.HasSuffix(progress, "progress 100%") || strings.Contains(progress, "10%") {
		t.Errorf("a line redrawn after a carriage return shows %q (%v); want only progress 100%%", progress, err)
	}
	inStep, err := chromedp.Run(ctx, chromedp.Poll[bool](`!!document.querySelector('#log details.step[data-index="0"] #L1')`))
	if err != nil || !inStep {
		t.Errorf("line 1 is not in the step's section (%v)", err)
	}
	// The step's own section holds its lines.
	waitJS(t, ctx, `(document.querySelector('#log details.step[data-index="1"] .step-name') || {}).textContent + ":" +
		!!document.querySelector('#log details.step[data-index="1"] [data-n="3"]')`, "talk:true")
	screenshot(t, ctx, "job-live")
	// Search finds a line; a line's address opens on it.
	if err := chromedp.Do(ctx, chromedp.SendKeys("#log-q", "target=prod"), chromedp.Click(`#log-search button[type=submit]`)); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, `document.getElementById("log-hits").textContent`, "Match 1 of 1 (line 3)")
	if err := chromedp.Do(ctx, chromedp.Navigate(fmt.Sprintf("%s/jobs/%d#L4", l.URL, job.ID))); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, `(document.querySelector("#log .line.hit") || {dataset: {}}).dataset.n`, "4")
	// Cancel from the job page.
	if err := chromedp.Do(ctx, chromedp.Click(fmt.Sprintf(`form[action="/jobs/%d/cancel"] button`, job.ID))); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, l, job.ID, lathe.StatusCanceled)
}

func TestBrowserApproveGateFromRunPage(t *testing.T) {
	ctx := browser(t, 3*time.Minute)
	l := lathetest.Start(t, lathetest.Options{})
	l.Project(t, "app", lathetest.Repo(t, map[string]string{".lathe.yml": gatePipeline}))
	pw := member(t, l, "lead", "app", "write")
	run := l.Trigger(t, "app", "", "")
	deploy := lathetest.JobByName(t, l.Run(t, run.ID), "deploy")

	signInBrowser(t, ctx, l.URL, "lead", pw)
	approve := fmt.Sprintf(`form[action="/jobs/%d/approve"] button`, deploy.ID)
	// The page reloads itself when the gate opens for a decision.
	if err := chromedp.Do(ctx, chromedp.Navigate(fmt.Sprintf("%s/runs/%d", l.URL, run.ID)), chromedp.WaitVisible(approve)); err != nil {
		t.Fatalf("no approve button: %v", err)
	}
	screenshot(t, ctx, "gate")
	if err := chromedp.Do(ctx, chromedp.Click(approve)); err != nil {
		t.Fatal(err)
	}
	// Back on the run page, which follows the run to its end.
	waitJS(t, ctx, `((document.querySelector("[data-run-status] .status") || {dataset: {}}).dataset.status === "success") && location.pathname`,
		fmt.Sprintf("/runs/%d", run.ID))
	if got := l.Run(t, run.ID); got.Status != lathe.StatusSuccess {
		t.Fatalf("run %s", got.Status)
	}
	if j := l.Job(t, deploy.ID); j.Approval == nil || j.Approval.ApprovedBy != "lead" {
		t.Fatalf("the gate was not approved by lead: %+v", j.Approval)
	}
	screenshot(t, ctx, "run-done")
	nodes, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("svg.graph .node")).map(n => n.dataset.status)`))
	if err != nil || !slices.Equal(nodes, []string{"success", "success"}) {
		t.Errorf("graph nodes %v (%v)", nodes, err)
	}
	checkPage(t, ctx, "run page")

	// At 375 px wide, in the dark theme.
	dark := []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}}
	if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Features: dark}); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(375, 800)); err != nil {
		t.Fatal(err)
	}
	for _, page := range []string{"/", "/p/app", "/p/app/run", fmt.Sprintf("/runs/%d", run.ID), fmt.Sprintf("/jobs/%d", deploy.ID)} {
		if err := chromedp.Do(ctx, chromedp.Navigate(l.URL+page), chromedp.WaitVisible("#main")); err != nil {
			t.Fatal(err)
		}
		checkPage(t, ctx, page+" at 375 px")
		bg, err := chromedp.Run(ctx, chromedp.Evaluate[string](`getComputedStyle(document.body).backgroundColor`))
		if err != nil || bg != "rgb(13, 17, 23)" {
			t.Errorf("%s: dark background %q (%v)", page, bg, err)
		}
		screenshot(t, ctx, "375-dark"+strings.ReplaceAll(page, "/", "_"))
	}
}

// TestBrowserLogResumesAfterDrop cuts the browser's connections while a
// job prints: the page's EventSource reconnects with Last-Event-ID and the
// log goes on where it stopped, with no line twice and none missing.
func TestBrowserLogResumesAfterDrop(t *testing.T) {
	ctx := browser(t, 3*time.Minute)
	l := lathetest.Start(t, lathetest.Options{})
	l.Project(t, "app", lathetest.Repo(t, map[string]string{".lathe.yml": "name: ci\njobs:\n  a:\n    steps: ['echo alpha-$((1+1)); sleep 2; echo beta-$((2+2)); sleep 120']\n"}))
	pw := member(t, l, "dev", "app", "write")
	proxy := newCutProxy(t, l.URL)
	signInBrowser(t, ctx, proxy.URL, "dev", pw)
	run := l.Trigger(t, "app", "", "")
	job := lathetest.JobByName(t, l.Run(t, run.ID), "a")
	if err := chromedp.Do(ctx, chromedp.Navigate(fmt.Sprintf("%s/jobs/%d", proxy.URL, job.ID))); err != nil {
		t.Fatal(err)
	}
	count := func(word string) string {
		return `Array.from(document.querySelectorAll("#log .line")).filter(l => l.textContent.endsWith("` + word + `")).length`
	}
	waitJS(t, ctx, count("alpha-2"), 1)
	proxy.cut() // the stream drops before beta is printed
	for range 600 {
		if strings.Contains(l.Log(t, job.ID), "beta-4") {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	waitJS(t, ctx, count("beta-4"), 1)
	waitJS(t, ctx, count("alpha-2"), 1)
	waitJS(t, ctx, `window.__latheDrops > 0`, true) // it did lose the stream
	l.Do(t, "POST", fmt.Sprintf("/api/v1/runs/%d/cancel", run.ID), nil, nil)
}

// TestBrowserRunPageFollowsStages keeps a run page open while an outside
// tool sets the run's external stage: the stage's heading shows its new
// status in place (no reload), as the jobs' rows do, instead of the status
// the page was rendered with.
func TestBrowserRunPageFollowsStages(t *testing.T) {
	ctx := browser(t, 3*time.Minute)
	l := lathetest.Start(t, lathetest.Options{})
	l.Project(t, "app", lathetest.Repo(t, map[string]string{".lathe.yml": `name: ci
stages: [build, {name: scan, external: true}, deploy]
jobs:
  build: {stage: build, steps: [echo built]}
  deploy: {stage: deploy, steps: ['sleep 120']}
`}))
	pw := member(t, l, "dev", "app", "read")
	run := l.Trigger(t, "app", "", "")
	waitStatus(t, l, lathetest.JobByName(t, l.Run(t, run.ID), "build").ID, lathe.StatusSuccess)
	var scan *lathe.Stage
	for _, s := range l.Run(t, run.ID).Stages {
		if s.Name == "scan" {
			scan = s
		}
	}
	if scan == nil || scan.Status.Terminal() {
		t.Fatalf("the external stage is %+v", scan)
	}
	signInBrowser(t, ctx, l.URL, "dev", pw)
	if err := chromedp.Do(ctx, chromedp.Navigate(fmt.Sprintf("%s/runs/%d", l.URL, run.ID))); err != nil {
		t.Fatal(err)
	}
	heading := func(stage string) string {
		return `Array.from(document.querySelectorAll("h3.stage")).find(h => h.textContent.startsWith("` + stage + ` ")).querySelector(".status").dataset.status`
	}
	waitJS(t, ctx, heading("scan"), string(scan.Status))
	// The page marks itself: a reload would lose the mark.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.__sameRunPage = true`)); err != nil {
		t.Fatal(err)
	}
	l.Do(t, "PATCH", fmt.Sprintf("/api/v1/stages/%d", scan.ID), map[string]string{"status": "success"}, nil)
	waitJS(t, ctx, heading("scan"), "success")
	waitJS(t, ctx, heading("deploy"), "running")
	waitJS(t, ctx, `window.__sameRunPage === true`, true)
	l.Do(t, "POST", fmt.Sprintf("/api/v1/runs/%d/cancel", run.ID), nil, nil)
}

// TestBrowserLogFollowsItsEndAndJobEnds watches a job print: scrolled to
// the end of the page, new lines keep the end in view (as tail -f does);
// scrolled up, the page stays where the reader is. When the job ends, its
// actions follow: cancel gives way to re-run, without reloading the log.
func TestBrowserLogFollowsItsEndAndJobEnds(t *testing.T) {
	ctx := browser(t, 3*time.Minute)
	l := lathetest.Start(t, lathetest.Options{})
	l.Project(t, "app", lathetest.Repo(t, map[string]string{".lathe.yml": "name: ci\njobs:\n  a:\n    steps: ['for i in $(seq 1 600); do echo line $i; sleep 0.05; done; sleep 120']\n"}))
	pw := member(t, l, "dev", "app", "write")
	signInBrowser(t, ctx, l.URL, "dev", pw)
	run := l.Trigger(t, "app", "", "")
	job := lathetest.JobByName(t, l.Run(t, run.ID), "a")
	if err := chromedp.Do(ctx, chromedp.Navigate(fmt.Sprintf("%s/jobs/%d", l.URL, job.ID))); err != nil {
		t.Fatal(err)
	}
	const count = `document.querySelectorAll("#log .line").length`
	grown := func(by int) {
		t.Helper()
		n, err := chromedp.Run(ctx, chromedp.Evaluate[int](count))
		if err != nil {
			t.Fatal(err)
		}
		waitJS(t, ctx, fmt.Sprintf("%s >= %d", count, n+by), true)
	}
	waitJS(t, ctx, `document.documentElement.scrollHeight > window.innerHeight + 300`, true)
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.scrollTo(0, document.documentElement.scrollHeight); true`)); err != nil {
		t.Fatal(err)
	}
	grown(20)
	if at, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.innerHeight + window.scrollY >= document.documentElement.scrollHeight - 40`)); err != nil || !at {
		t.Errorf("scrolled to its end, the page left the end behind as lines came (%v)", err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.scrollTo(0, 0); true`)); err != nil {
		t.Fatal(err)
	}
	grown(20)
	if y, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`window.scrollY`)); err != nil || y != 0 {
		t.Errorf("scrolled to the top, the page moved to %v (%v)", y, err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.__sameJobPage = true`)); err != nil {
		t.Fatal(err)
	}
	l.Do(t, "POST", fmt.Sprintf("/api/v1/jobs/%d/cancel", job.ID), nil, nil)
	waitJS(t, ctx, fmt.Sprintf(`!!document.querySelector('form[action="/jobs/%d/rerun"] button') && !document.querySelector('form[action="/jobs/%d/cancel"]')`, job.ID, job.ID), true)
	waitJS(t, ctx, `document.querySelector("[data-job-status] .status").dataset.status`, "canceled")
	waitJS(t, ctx, `window.__sameJobPage === true`, true)
}

// TestBrowserDeepLinkToALineThroughSignIn opens a link to a log line
// signed out: after signing in, the page opens on that line.
func TestBrowserDeepLinkToALineThroughSignIn(t *testing.T) {
	ctx := browser(t, 3*time.Minute)
	l := lathetest.Start(t, lathetest.Options{})
	l.Project(t, "app", lathetest.Repo(t, map[string]string{".lathe.yml": "name: ci\njobs:\n  a:\n    steps: ['for i in $(seq 1 300); do echo line $i; done']\n"}))
	pw := member(t, l, "dev", "app", "read")
	run := l.Trigger(t, "app", "", "")
	job := lathetest.JobByName(t, l.Run(t, run.ID), "a")
	waitStatus(t, l, job.ID, lathe.StatusSuccess)
	if err := chromedp.Do(ctx, chromedp.Navigate(fmt.Sprintf("%s/jobs/%d#L250", l.URL, job.ID)), chromedp.WaitVisible("#username")); err != nil {
		t.Fatal(err)
	}
	err := chromedp.Do(ctx,
		chromedp.SendKeys("#username", "dev"),
		chromedp.SendKeys("#password", pw),
		chromedp.Click(`form[action="/login"] button[type=submit]`),
	)
	if err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, `location.pathname + location.hash`, fmt.Sprintf("/jobs/%d#L250", job.ID))
	waitJS(t, ctx, `(document.querySelector("#log .line.hit") || {dataset: {}}).dataset.n`, "250")
}

// TestBrowserRunFormShowsEachConfigErrorOnItsLine runs a pipeline whose
// file is broken in three places from the run form: the page shows the
// API's reason with each error on a line of its own, not run together.
func TestBrowserRunFormShowsEachConfigErrorOnItsLine(t *testing.T) {
	ctx := browser(t, 3*time.Minute)
	l := lathetest.Start(t, lathetest.Options{Agents: -1})
	repo := lathetest.Repo(t, map[string]string{".lathe.yml": paramPipeline})
	lathetest.Git(t, repo, "checkout", "-q", "-b", "broken")
	lathetest.Commit(t, repo, map[string]string{".lathe.yml": "name: ci\njobs:\n  a:\n    steps: [echo hi]\n    needs: [nothere]\n  b:\n    stepz: [x]\n"})
	lathetest.Git(t, repo, "checkout", "-q", "main")
	l.Project(t, "app", repo)
	pw := member(t, l, "dev", "app", "write")
	signInBrowser(t, ctx, l.URL, "dev", pw)
	err := chromedp.Do(ctx,
		chromedp.Navigate(l.URL+"/p/app/run"),
		chromedp.Clear("#ref-0"),
		chromedp.SendKeys("#ref-0", "broken"),
		chromedp.Click(`form.run-form button[type=submit]`),
		chromedp.WaitVisible(".problem"),
	)
	if err != nil {
		t.Fatal(err)
	}
	shown, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector(".problem").innerText`))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(shown, "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[1], ".lathe.yml:5:13: jobs.a.needs") || !strings.HasPrefix(lines[3], ".lathe.yml:7:5: jobs.b.stepz") {
		t.Errorf("the refusal shows as %q", lines)
	}
}

// TestBrowserLogShowsWhatATerminalShows prints what tools send a
// terminal besides colours: a window title and a hyperlink (OSC
// sequences), and a progress bar redrawn by erasing its line and going
// back to column 1. The log shows what a terminal shows, not their bytes,
// and search does not find them.
func TestBrowserLogShowsWhatATerminalShows(t *testing.T) {
	ctx := browser(t, 3*time.Minute)
	l := lathetest.Start(t, lathetest.Options{})
	l.Project(t, "app", lathetest.Repo(t, map[string]string{
		".lathe.yml": "name: ci\njobs:\n  a:\n    steps: ['sh osc.sh']\n",
		"osc.sh": `printf '\033]0;npm install\007title-set\n'; printf 'see \033]8;;https://example.com/x\033\\the docs\033]8;;\033\\ now\n'
printf '\033[2K\033[1Gfetch 10%%\033[2K\033[1Gfetch 100%%\n'` + "\n",
	}))
	pw := member(t, l, "dev", "app", "read")
	run := l.Trigger(t, "app", "", "")
	job := lathetest.JobByName(t, l.Run(t, run.ID), "a")
	waitStatus(t, l, job.ID, lathe.StatusSuccess)
	signInBrowser(t, ctx, l.URL, "dev", pw)
	if err := chromedp.Do(ctx, chromedp.Navigate(fmt.Sprintf("%s/jobs/%d", l.URL, job.ID))); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, `document.getElementById("log").dataset.complete`, "true")
	texts, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("#log .line")).map(l => l.textContent).filter(t => !t.startsWith("$ "))`))
	if err != nil || !slices.Equal(texts, []string{"title-set", "see the docs now", "fetch 100%"}) {
		t.Errorf("the log shows %q (%v)", texts, err)
	}
	if err := chromedp.Do(ctx, chromedp.SendKeys("#log-q", "example.com"), chromedp.Click(`#log-search button[type=submit]`)); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, `document.getElementById("log-hits").textContent`, "No match.")
}
