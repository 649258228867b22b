package web_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/client"
	"github.com/lathe-ci/lathe/internal/lathetest"
)

// cdRepo has the deploy pipeline every environment runs.
var cdRepo = map[string]string{".lathe/deploy.yml": `name: deploy
on: {manual: {}}
parameters:
  version: {type: string}
  environment: {type: string}
jobs:
  ship:
    steps: ['echo "deploying $PARAM_VERSION to $PARAM_ENVIRONMENT"']
`}

// cdWorld is a project with staging and a protected production (lead and
// dev approve it, a second person required), release 1.0.0-rc1 running on
// staging, and dev, lead and a reader.
type cdWorld struct {
	l                *lathetest.Lathe
	dev              *client.Client
	devPW, leadPW    string
	readerPW         string
	staging          lathe.Deployment
	commit, basePath string
}

func newCDWorld(t *testing.T) *cdWorld {
	t.Helper()
	l := lathetest.Start(t, lathetest.Options{})
	repo := lathetest.Repo(t, cdRepo)
	w := &cdWorld{l: l, commit: strings.TrimSpace(lathetest.Git(t, repo, "rev-parse", "HEAD")), basePath: "/api/v1/projects/app"}
	l.Project(t, "app", repo)
	w.devPW, w.leadPW, w.readerPW = member(t, l, "dev", "app", "write"), member(t, l, "lead", "app", "write"), member(t, l, "reader", "app", "read")
	var s struct {
		Session lathe.APIToken `json:"session"`
	}
	if err := l.ClientAs(t, "").Do(t.Context(), "POST", "/api/v1/sessions", map[string]string{"username": "dev", "password": w.devPW}, &s); err != nil {
		t.Fatal(err)
	}
	w.dev = l.ClientAs(t, s.Session.Token)
	l.Do(t, "POST", w.basePath+"/environments", map[string]any{"name": "staging", "position": 1, "deploy_pipeline": "deploy"}, nil)
	l.Do(t, "POST", w.basePath+"/environments", map[string]any{"name": "production", "position": 2, "deploy_pipeline": "deploy",
		"protected": true, "approvers": []string{"user:lead", "user:dev"}, "second_person": true}, nil)
	l.Do(t, "POST", w.basePath+"/releases/1.0.0-rc1", map[string]any{"commit": w.commit}, nil)
	l.Do(t, "POST", w.basePath+"/environments/staging/deployments", map[string]any{"release_candidate_version": "1.0.0-rc1"}, &w.staging)
	if r := l.Wait(t, w.staging.RunID, time.Minute); r.Status != lathe.StatusSuccess {
		t.Fatalf("staging deploy = %s", r.Status)
	}
	return w
}

// promoteAsDev promotes staging as dev and returns production's new deployment.
func (w *cdWorld) promoteAsDev(t *testing.T) lathe.Deployment {
	t.Helper()
	var d lathe.Deployment
	if err := w.dev.Do(t.Context(), "POST", w.basePath+"/environments/staging/promote", nil, &d); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, w.l, lathetest.JobByName(t, w.l.Run(t, d.RunID), "ship").ID, lathe.StatusWaiting)
	w.l.Do(t, "GET", fmt.Sprintf("%s/environments/production/deployments/%d", w.basePath, d.ID), nil, &d)
	if d.GateJobID == 0 || d.Status != "waiting_for_approval" {
		t.Fatalf("production's deployment = %+v", d)
	}
	return d
}

// The CD pages without a browser: what runs where, an environment's history
// and a release; the buttons only for who may use them (the reader none,
// the deployer no approval of their own deployment), and the server
// refusing a post all the same.
func TestCDPagesShowButtonsOnlyToThoseAllowed(t *testing.T) {
	t.Parallel()
	w := newCDWorld(t)
	d := w.promoteAsDev(t)
	dev, lead, reader := newBrowserless(t, w.l.URL), newBrowserless(t, w.l.URL), newBrowserless(t, w.l.URL)
	dev.signIn("dev", w.devPW)
	lead.signIn("lead", w.leadPW)
	reader.signIn("reader", w.readerPW)

	_, _, body := reader.get("/p/app/environments")
	for _, want := range []string{"staging", "production", "1.0.0-rc1", "● runs here", "protected"} {
		if !strings.Contains(body, want) {
			t.Errorf("the matrix lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, "Promote") || strings.Contains(body, "Roll back") {
		t.Errorf("the reader is offered promote or roll back")
	}
	if _, _, body := dev.get("/p/app/environments"); !strings.Contains(body, "Promote to next") {
		t.Errorf("dev is not offered promotion")
	}
	// An environment an outside CD deploys to (no deploy pipeline): nothing
	// can be promoted into it nor rolled back there, so neither is offered.
	w.l.Do(t, "POST", w.basePath+"/environments", map[string]any{"name": "edge", "position": 3}, nil)
	if _, _, body := dev.get("/p/app/environments/edge"); strings.Contains(body, "Roll back") || strings.Contains(body, "Promote") {
		t.Errorf("dev is offered roll back or promotion in edge, which has no deploy pipeline:\n%s", body)
	}
	if _, _, body := dev.get("/p/app/environments/production"); strings.Contains(body, "Promote to next") || !strings.Contains(body, "Roll back") {
		t.Errorf("dev is offered promotion from production to edge, which has no deploy pipeline (or no roll back):\n%s", body)
	}
	if _, _, body := dev.get("/p/app/environments/staging"); !strings.Contains(body, "Promote to next") || !strings.Contains(body, "Roll back") {
		t.Errorf("dev is not offered promotion and roll back in staging:\n%s", body)
	}
	gateForm := fmt.Sprintf(`action="/jobs/%d/reject"`, d.GateJobID)
	if _, _, body := dev.get("/p/app/environments/production"); strings.Contains(body, gateForm) || !strings.Contains(body, "waiting for approval") {
		t.Errorf("dev, who deployed, is offered the gate of a second-person environment (or it is not shown):\n%s", body)
	}
	if _, _, body := lead.get("/p/app/environments/production"); !strings.Contains(body, gateForm) {
		t.Errorf("lead is not offered the gate:\n%s", body)
	}
	_, _, body = reader.get("/p/app/releases/1.0.0")
	for _, want := range []string{"Release 1.0.0", "1.0.0-rc1", "staging", "production"} {
		if !strings.Contains(body, want) {
			t.Errorf("the release page lacks %q:\n%s", want, body)
		}
	}
	// Posts the page did not offer: the API refuses them.
	if code, _, body := reader.post("/p/app/environments/staging/promote", url.Values{"csrf": {reader.csrf("/p/app/environments")}}); code != http.StatusForbidden {
		t.Errorf("reader promotes: %d\n%s", code, body)
	}
	reject := fmt.Sprintf("/jobs/%d/reject", d.GateJobID)
	if code, _, body := dev.post(reject, url.Values{"csrf": {dev.csrf("/p/app/environments")}, "comment": {"mine"}}); code != http.StatusForbidden ||
		!strings.Contains(body, "second person") {
		t.Errorf("dev rejects their own deployment: %d\n%s", code, body)
	}
	if code, _, _ := reader.post("/p/app/environments/staging/destroy", url.Values{"csrf": {reader.csrf("/p/app/environments")}}); code != http.StatusNotFound {
		t.Errorf("an unknown environment action: %d", code)
	}
	if code, _, _ := reader.get("/p/app/environments/nowhere"); code != http.StatusNotFound {
		t.Errorf("an unknown environment's page: %d", code)
	}
	if code, _, _ := lead.post(reject, url.Values{"csrf": {lead.csrf("/p/app/environments")}, "back": {"/p/app/environments/production"}}); code != http.StatusSeeOther {
		t.Errorf("lead rejects: %d", code)
	}
	w.l.Wait(t, d.RunID, time.Minute)
}

// In Chromium: lead rejects dev's promotion to production with a comment,
// which the history shows with who and when; lead's own promotion offers
// lead no approval; dev approves it and the matrix shows rc1 in production.
func TestBrowserRejectWithCommentPromoteAndApprove(t *testing.T) {
	ctx := browser(t, 3*time.Minute)
	w := newCDWorld(t)
	first := w.promoteAsDev(t)
	signInBrowser(t, ctx, w.l.URL, "lead", w.leadPW)

	reject := fmt.Sprintf(`form[action="/jobs/%d/reject"]`, first.GateJobID)
	err := chromedp.Do(ctx,
		chromedp.Navigate(w.l.URL+"/p/app/environments/production"),
		chromedp.WaitVisible(reject+" button"),
		chromedp.SendKeys(reject+` input[name="comment"]`, "not during the freeze"),
	)
	if err != nil {
		t.Fatalf("the reject form: %v", err)
	}
	screenshot(t, ctx, "environment-gate")
	if err := chromedp.Do(ctx, chromedp.Click(reject+" button")); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, `location.pathname + " " + !!document.querySelector("q.comment")`, "/p/app/environments/production true")
	text, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector(`+fmt.Sprintf("%q", fmt.Sprintf(`tr[data-deployment="%d"]`, first.ID))+`).innerText`))
	if err != nil || !strings.Contains(text, "rejected by lead") || !strings.Contains(text, "not during the freeze") || !strings.Contains(text, "canceled") {
		t.Errorf("the rejected deployment's row: %q (%v)", text, err)
	}
	if j := w.l.Job(t, first.GateJobID); j.Approval.RejectedBy != "lead" || j.Approval.Comment != "not during the freeze" {
		t.Errorf("the job's gate: %+v", j.Approval)
	}
	checkPage(t, ctx, "environment page")

	// lead promotes from the matrix; lead may not approve it.
	err = chromedp.Do(ctx,
		chromedp.Navigate(w.l.URL+"/p/app/environments"),
		chromedp.WaitVisible(`form[action="/p/app/environments/staging/promote"] button`),
		chromedp.Click(`form[action="/p/app/environments/staging/promote"] button`),
	)
	if err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, `location.pathname`, "/p/app/environments/production")
	var hist struct{ Items []lathe.Deployment }
	w.l.Do(t, "GET", w.basePath+"/environments/production/deployments", nil, &hist)
	second := hist.Items[0]
	if second.ID == first.ID || second.CreatedBy != "lead" {
		t.Fatalf("lead's promotion: %+v", second)
	}
	waitStatus(t, w.l, second.GateJobID, lathe.StatusWaiting)
	if err := chromedp.Do(ctx, chromedp.Reload(), chromedp.WaitVisible(fmt.Sprintf(`tr[data-deployment="%d"]`, second.ID))); err != nil {
		t.Fatal(err)
	}
	n, err := chromedp.Run(ctx, chromedp.Evaluate[int](fmt.Sprintf(`document.querySelectorAll('form[action="/jobs/%d/approve"]').length`, second.GateJobID)))
	if err != nil || n != 0 {
		t.Errorf("lead is offered to approve lead's own deployment: %d forms (%v)", n, err)
	}
	if err := w.dev.Do(t.Context(), "POST", fmt.Sprintf("/api/v1/jobs/%d/approve", second.GateJobID), nil, nil); err != nil {
		t.Fatal(err)
	}
	w.l.Wait(t, second.RunID, time.Minute)
	if err := chromedp.Do(ctx, chromedp.Navigate(w.l.URL+"/p/app/environments"), chromedp.WaitVisible("table.matrix")); err != nil {
		t.Fatal(err)
	}
	here, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("table.matrix .here").length`))
	if err != nil || here != 2 {
		t.Errorf("rc1 runs in %d environments (%v); want staging and production", here, err)
	}
	screenshot(t, ctx, "environments")
	checkPage(t, ctx, "environments page")
	if err := chromedp.Do(ctx, chromedp.Navigate(w.l.URL+"/p/app/releases/1.0.0"), chromedp.WaitVisible("section.candidate")); err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "release")
	checkPage(t, ctx, "release page")
}
