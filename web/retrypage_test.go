package web_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/internal/lathetest"
)

// A job page open while an attempt fails and the job retries does not stop
// at the failed attempt: it shows the job's own status and goes on to
// follow the next attempt, to the job's end.
func TestBrowserJobPageFollowsARetry(t *testing.T) {
	ctx := browser(t, 3*time.Minute)
	l := lathetest.Start(t, lathetest.Options{})
	l.Project(t, "app", lathetest.Repo(t, map[string]string{".lathe.yml": `jobs:
  flaky:
    retry: {count: 1, on: [failure]}
    steps: ['echo "try $LATHE_ATTEMPT"; sleep 2; test "$LATHE_ATTEMPT" -ge 2']
`}))
	pw := member(t, l, "dev", "app", "read")
	signInBrowser(t, ctx, l.URL, "dev", pw)
	job := lathetest.JobByName(t, l.Run(t, l.Trigger(t, "app", "", "").ID), "flaky")
	if err := chromedp.Do(ctx, chromedp.Navigate(fmt.Sprintf("%s/jobs/%d", l.URL, job.ID))); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.getElementById("log").textContent.includes("try 1")`)); err != nil {
		t.Fatalf("the first attempt's line never showed: %v", err)
	}
	// The page loads again for the next attempt: ask until it shows it.
	want := `document.getElementById("log").textContent.includes("try 2") &&
		document.querySelector("[data-job-status] .status").dataset.status === "` + string(lathe.StatusSuccess) + `"`
	deadline := time.Now().Add(60 * time.Second)
	for {
		if ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](want)); err == nil && ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the page did not go on to the second attempt and the job's success (job %s)", l.Job(t, job.ID).Status)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
