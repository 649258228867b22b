package web_test

import (
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/api"
	"github.com/lathe-ci/lathe/internal/lathetest"
)

func TestSessionCookieIsTheAPIs(t *testing.T) {
	if api.SessionCookie != "lathe_session" {
		t.Fatalf("the API's session cookie is %q; web reads lathe_session", api.SessionCookie)
	}
}

// gatePipeline has a job that waits for approval, so a run stays open.
const gatePipeline = `name: ci
jobs:
  build:
    steps: [echo built]
  deploy:
    needs: [build]
    approval: {message: "Ship it?"}
    steps: [echo deployed]
`

func waitStatus(t *testing.T, l *lathetest.Lathe, jobID int64, want lathe.Status) {
	t.Helper()
	for range 600 {
		if j := l.Job(t, jobID); j.Status == want {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("job %d never reached %s (it is %s)", jobID, want, l.Job(t, jobID).Status)
}

func TestPagesHeadersAndStatic(t *testing.T) {
	t.Parallel()
	l := lathetest.Start(t, lathetest.Options{Agents: -1})
	b := newBrowserless(t, l.URL)
	code, hdr, body := b.get("/")
	if code != http.StatusOK || !strings.Contains(body, "<title>Projects · Lathe</title>") {
		t.Fatalf("GET /: %d\n%s", code, body)
	}
	// A first start's signed-out home page leads to /setup, as the sign-in page does.
	if !strings.Contains(body, `<a href="/setup">set the admin password</a>`) {
		t.Errorf("the signed-out home page with no project does not lead to /setup:\n%s", body)
	}
	csp := hdr.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'self'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
		t.Errorf("CSP %q allows inline code", csp)
	}
	// No inline script or style in the page: the CSP would block it.
	if regexp.MustCompile(`<script>|<script [^>]*>[^<]|<style|style="`).MatchString(body) {
		t.Errorf("the page has inline script or style:\n%s", body)
	}
	static := regexp.MustCompile(`href="(/static/[^"]+/lathe\.css)"`).FindStringSubmatch(body)
	if static == nil {
		t.Fatalf("no stylesheet link in\n%s", body)
	}
	code, hdr, _ = b.get(static[1])
	if code != http.StatusOK || !strings.Contains(hdr.Get("Cache-Control"), "immutable") || !strings.HasPrefix(hdr.Get("Content-Type"), "text/css") {
		t.Errorf("GET %s: %d, Cache-Control %q, Content-Type %q", static[1], code, hdr.Get("Cache-Control"), hdr.Get("Content-Type"))
	}
	// A page names its icon, so browsers do not ask for /favicon.ico.
	icon := regexp.MustCompile(`<link rel="icon" type="image/svg\+xml" href="(/static/[^"]+/favicon\.svg)">`).FindStringSubmatch(body)
	if icon == nil {
		t.Errorf("no icon link in\n%s", body)
	} else if code, hdr, _ = b.get(icon[1]); code != http.StatusOK || hdr.Get("Content-Type") != "image/svg+xml" {
		t.Errorf("GET %s: %d, Content-Type %q", icon[1], code, hdr.Get("Content-Type"))
	}
	if code, hdr, _ = b.get("/static/old/lathe.js"); code != http.StatusOK || hdr.Get("Cache-Control") != "no-cache" {
		t.Errorf("an old version's URL: %d, Cache-Control %q", code, hdr.Get("Cache-Control"))
	}
	if code, _, body = b.get("/no/such/page"); code != http.StatusNotFound || !strings.Contains(body, "There is no page at /no/such/page") {
		t.Errorf("unknown page: %d\n%s", code, body)
	}
	// The API keeps its own answers.
	if code, hdr, _ = b.get("/api/v1/nothing"); code != http.StatusNotFound || hdr.Get("Content-Type") != "application/problem+json" {
		t.Errorf("unknown API path: %d %s", code, hdr.Get("Content-Type"))
	}
	// Signed out, a private page asks to sign in.
	if code, hdr, _ = b.get("/agents"); code != http.StatusSeeOther || !strings.HasPrefix(hdr.Get("Location"), "/login?next=") {
		t.Errorf("agents signed out: %d %s", code, hdr.Get("Location"))
	}
}

func TestSetupSignInAndOut(t *testing.T) {
	t.Parallel()
	l := lathetest.Start(t, lathetest.Options{Agents: -1})
	b := newBrowserless(t, l.URL)
	token := b.csrf("/setup")
	form := url.Values{"csrf": {token}, "token": {"lathe_wrong"}, "password": {"a-new-password"}, "confirm": {"a-new-password"}}
	if code, _, body := b.post("/setup", form); code != http.StatusUnauthorized || !strings.Contains(body, "role=\"alert\"") {
		t.Fatalf("setup with a wrong token: %d\n%s", code, body)
	}
	form.Set("token", l.AdminToken)
	if code, hdr, body := b.post("/setup", form); code != http.StatusSeeOther || hdr.Get("Location") != "/" {
		t.Fatalf("setup: %d %s\n%s", code, hdr.Get("Location"), body)
	}
	if _, _, body := b.get("/"); !strings.Contains(body, "admin (admin)") || !strings.Contains(body, ">Agents</a>") {
		t.Fatalf("after setup the admin is not signed in:\n%s", body)
	}
	var cookie *http.Cookie
	u, _ := url.Parse(l.URL)
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == api.SessionCookie {
			cookie = c
		}
	}
	if cookie == nil {
		t.Fatal("no session cookie")
	}
	// Sign out: the session is gone at the API too.
	old := cookie.Value
	if code, hdr, _ := b.post("/logout", url.Values{"csrf": {b.csrf("/")}}); code != http.StatusSeeOther || hdr.Get("Location") != "/" {
		t.Fatalf("sign out: %d", code)
	}
	if err := l.ClientAs(t, old).Do(t.Context(), http.MethodGet, "/api/v1/users/me", nil, nil); err == nil {
		t.Fatal("the session still works after signing out")
	}
	// And back in with the password the setup page set.
	c2 := newBrowserless(t, l.URL)
	c2.signIn("admin", "a-new-password")
	// The setup page sets the first password only, and says so.
	again := url.Values{"csrf": {c2.csrf("/setup")}, "token": {l.AdminToken}, "password": {"another-password"}, "confirm": {"another-password"}}
	if code, _, body := c2.post("/setup", again); code != http.StatusConflict || !strings.Contains(body, "admin has a password already: sign in with it") {
		t.Fatalf("setup once the admin has a password: %d\n%s", code, body)
	}
	if code, _, body := c2.post("/login", url.Values{"csrf": {c2.csrf("/login")}, "username": {"admin"}, "password": {"wrong-password"}}); code != http.StatusUnauthorized || !strings.Contains(body, "wrong username or password") {
		t.Fatalf("wrong password: %d\n%s", code, body)
	}
}

func TestCSRFAndReadOnly(t *testing.T) {
	t.Parallel()
	l := lathetest.Start(t, lathetest.Options{})
	repo := lathetest.Repo(t, map[string]string{".lathe.yml": gatePipeline})
	l.Project(t, "app", repo)
	run := l.Trigger(t, "app", "", "")
	deploy := lathetest.JobByName(t, l.Run(t, run.ID), "deploy")
	waitStatus(t, l, deploy.ID, lathe.StatusWaiting)

	writerPW := member(t, l, "writer", "app", "write")
	readerPW := member(t, l, "reader", "app", "read")
	writer := newBrowserless(t, l.URL)
	writer.signIn("writer", writerPW)
	reader := newBrowserless(t, l.URL)
	reader.signIn("reader", readerPW)

	runPage := fmt.Sprintf("/runs/%d", run.ID)
	if _, _, home := writer.get("/"); !strings.Contains(home, "waiting for approval of deploy") {
		t.Errorf("the home page does not say why the run waits:\n%s", home)
	}
	_, _, body := writer.get(runPage)
	for _, want := range []string{"Cancel run", "Approve deploy", "Reject deploy", "Ship it?"} {
		if !strings.Contains(body, want) {
			t.Errorf("the writer's run page lacks %q", want)
		}
	}
	_, _, body = reader.get(runPage)
	if !strings.Contains(body, "deploy") {
		t.Fatalf("the reader's run page:\n%s", body)
	}
	for _, unwanted := range []string{"Cancel run", "Approve", "Reject", "Re-run"} {
		if strings.Contains(body, unwanted) {
			t.Errorf("the reader's run page offers %q", unwanted)
		}
	}
	// The reader posts anyway, with a valid token: the API refuses (403).
	approve := fmt.Sprintf("/jobs/%d/approve", deploy.ID)
	code, _, body := reader.post(approve, url.Values{"csrf": {reader.csrf(runPage)}})
	if code != http.StatusForbidden || !strings.Contains(body, "needs write on project app") {
		t.Fatalf("reader approves: %d\n%s", code, body)
	}
	// CSRF: no token, another session's token, a foreign Origin.
	writerToken := writer.csrf(runPage)
	for name, c := range map[string]struct {
		form    url.Values
		headers []string
	}{
		"no token":              {url.Values{}, nil},
		"another user's token":  {url.Values{"csrf": {reader.csrf(runPage)}}, nil},
		"foreign origin":        {url.Values{"csrf": {writerToken}}, []string{"Origin", "https://evil.example"}},
		"signed-out form token": {url.Values{"csrf": {newBrowserless(t, l.URL).csrf("/login")}}, nil},
	} {
		if code, _, body := writer.post(approve, c.form, c.headers...); code != http.StatusForbidden {
			t.Errorf("%s: %d\n%s", name, code, body)
		}
	}
	if st := l.Job(t, deploy.ID).Status; st != lathe.StatusWaiting {
		t.Fatalf("a refused post changed the job: %s", st)
	}
	// The run form: a reader may not; a wrong parameter comes back with the API's reason.
	if code, _, _ := reader.get("/p/app/run"); code != http.StatusForbidden {
		t.Errorf("a reader's run form: %d", code)
	}
	if code, _, body := writer.post("/p/app/runs", url.Values{"csrf": {writerToken}, "pipeline": {"ci"}, "param.nope": {"1"}}); code/100 != 4 || !strings.Contains(body, "nope") || !strings.Contains(body, `role="alert"`) {
		t.Errorf("a run with an unknown parameter: %d\n%s", code, body)
	}
	// The writer's real form works.
	if code, hdr, body := writer.post(approve, url.Values{"csrf": {writerToken}}); code != http.StatusSeeOther || hdr.Get("Location") != fmt.Sprintf("/jobs/%d", deploy.ID) {
		t.Fatalf("writer approves: %d %s\n%s", code, hdr.Get("Location"), body)
	}
	l.Wait(t, run.ID, time.Minute)
}

func TestPublicProjectSignedOut(t *testing.T) {
	t.Parallel()
	l := lathetest.Start(t, lathetest.Options{Agents: -1})
	repo := lathetest.Repo(t, map[string]string{".lathe.yml": gatePipeline})
	l.Project(t, "open", repo)
	l.Project(t, "closed", repo)
	l.Do(t, http.MethodPatch, "/api/v1/projects/open", map[string]string{"visibility": "public"}, nil)
	b := newBrowserless(t, l.URL)
	_, _, home := b.get("/")
	if !strings.Contains(home, `href="/p/open"`) || strings.Contains(home, "closed") {
		t.Fatalf("signed-out home:\n%s", home)
	}
	l.Trigger(t, "open", "", "")
	if _, _, body := b.get("/p/open?event=push"); !strings.Contains(body, "No runs.") {
		t.Errorf("filtered by event push, the manual run shows:\n%s", body)
	}
	if _, _, body := b.get("/p/open?event=manual"); strings.Contains(body, "No runs.") || !strings.Contains(body, "ci #1") {
		t.Errorf("filtered by event manual:\n%s", body)
	}
	code, _, body := b.get("/p/open")
	if code != http.StatusOK || !strings.Contains(body, "<h1>open</h1>") || strings.Contains(body, "Run pipeline") || strings.Contains(body, "/p/open/run") {
		t.Fatalf("public project signed out: %d\n%s", code, body)
	}
	// A private project is, signed out, as one that does not exist: sign in.
	for _, p := range []string{"/p/closed", "/p/nothing"} {
		if code, hdr, _ := b.get(p); code != http.StatusSeeOther || !strings.HasPrefix(hdr.Get("Location"), "/login") {
			t.Errorf("GET %s signed out: %d %s", p, code, hdr.Get("Location"))
		}
	}
}

// The project page's Branches list says where each branch is (its newest
// run) whatever filter or page of the runs list is shown: filtered by
// another branch, or on an older page, a branch is still listed, and
// with its newest run, not the newest one the filter lets through.
func TestProjectPageBranchesIgnoreTheRunsFilter(t *testing.T) {
	t.Parallel()
	l := lathetest.Start(t, lathetest.Options{Agents: -1})
	repo := lathetest.Repo(t, map[string]string{".lathe.yml": gatePipeline})
	lathetest.Git(t, repo, "branch", "old")
	l.Project(t, "app", repo)
	l.Do(t, http.MethodPatch, "/api/v1/projects/app", map[string]string{"visibility": "public"}, nil)
	old := l.Trigger(t, "app", "old", "")
	first := l.Trigger(t, "app", "main", "")
	newest := l.Trigger(t, "app", "main", "")
	b := newBrowserless(t, l.URL)
	branches := func(page string) string {
		t.Helper()
		code, _, body := b.get(page)
		start, end := strings.Index(body, `<ul class="branches">`), strings.Index(body, `<h2 id="runs">`)
		if code != http.StatusOK || start < 0 || end < start {
			t.Fatalf("GET %s: %d, no branches list:\n%s", page, code, body)
		}
		return body[start:end]
	}
	for _, page := range []string{"/p/app", "/p/app?branch=main", "/p/app?branch=old", fmt.Sprintf("/p/app?before=%d", newest.ID)} {
		list := branches(page)
		for _, want := range []string{fmt.Sprintf(`href="/runs/%d">ci #%d`, old.ID, old.Number), fmt.Sprintf(`href="/runs/%d">ci #%d`, newest.ID, newest.Number)} {
			if !strings.Contains(list, want) {
				t.Errorf("GET %s: the branches list lacks %s:\n%s", page, want, list)
			}
		}
		if strings.Contains(list, fmt.Sprintf(`href="/runs/%d"`, first.ID)) {
			t.Errorf("GET %s: the branches list shows main at its older run %d:\n%s", page, first.ID, list)
		}
	}
}

// The home page lists projects a page at a time, with a link to the next
// page: past the first page, no project is out of reach.
func TestHomePagesItsProjects(t *testing.T) {
	t.Parallel()
	l := lathetest.Start(t, lathetest.Options{Agents: -1})
	repo := lathetest.Repo(t, map[string]string{".lathe.yml": gatePipeline})
	const n = 55
	for i := range n {
		l.Do(t, http.MethodPost, "/api/v1/projects", map[string]string{"name": fmt.Sprintf("p%02d", i), "url": repo, "visibility": "public"}, nil)
	}
	b := newBrowserless(t, l.URL)
	seen := map[string]bool{}
	page := "/"
	for range n {
		code, _, body := b.get(page)
		if code != http.StatusOK {
			t.Fatalf("GET %s: %d\n%s", page, code, body)
		}
		for _, m := range regexp.MustCompile(`<a href="/p/(p\d\d)">`).FindAllStringSubmatch(body, -1) {
			seen[m[1]] = true
		}
		m := regexp.MustCompile(`<a href="([^"]+)" rel="next">More projects</a>`).FindStringSubmatch(body)
		if m == nil {
			break
		}
		page = html.UnescapeString(m[1])
	}
	if len(seen) != n {
		t.Errorf("the home pages list %d of the %d projects", len(seen), n)
	}
}

// A run the API refuses (here at a ref that is not there) shows the form
// again as the user filled it in, with the API's reason, not reset to the
// defaults.
func TestRunFormKeepsWhatWasSentWhenRefused(t *testing.T) {
	t.Parallel()
	l := lathetest.Start(t, lathetest.Options{Agents: -1})
	l.Project(t, "app", lathetest.Repo(t, map[string]string{".lathe.yml": paramPipeline}))
	pw := member(t, l, "dev", "app", "write")
	b := newBrowserless(t, l.URL)
	b.signIn("dev", pw)
	code, _, body := b.post("/p/app/runs", url.Values{"csrf": {b.csrf("/p/app/run")}, "pipeline": {"ci"}, "ref": {"no-such-branch"},
		"param.note": {"typed <by> hand"}, "param.target": {"production"}})
	if code != http.StatusBadRequest || !strings.Contains(body, "no-such-branch") {
		t.Fatalf("a run at a missing ref: %d\n%s", code, body)
	}
	for _, want := range []string{`name="ref" value="no-such-branch"`, `name="param.note" value="typed &lt;by&gt; hand"`, `<option selected>production</option>`} {
		if !strings.Contains(body, want) {
			t.Errorf("the refused form lacks %s:\n%s", want, body)
		}
	}
	if strings.Contains(body, `<option selected>staging</option>`) {
		t.Errorf("the refused form is back at the default target")
	}
	// A fresh form shows the defaults.
	_, _, body = b.get("/p/app/run")
	for _, want := range []string{`name="ref" value="main"`, `name="param.note" value="hello"`, `<option selected>staging</option>`} {
		if !strings.Contains(body, want) {
			t.Errorf("the run form lacks %s:\n%s", want, body)
		}
	}
}

// A form the API refuses (cancel, from a page that no longer knew the run
// had ended) answers with a page that leads back to the page the form was
// on, not only to the projects; never to another site.
func TestRefusedFormLeadsBack(t *testing.T) {
	t.Parallel()
	l := lathetest.Start(t, lathetest.Options{Agents: -1})
	l.Project(t, "app", lathetest.Repo(t, map[string]string{".lathe.yml": gatePipeline}))
	pw := member(t, l, "dev", "app", "write")
	run := l.Trigger(t, "app", "", "")
	runPage := fmt.Sprintf("/runs/%d", run.ID)
	b := newBrowserless(t, l.URL)
	b.signIn("dev", pw)
	token := b.csrf(runPage)
	l.Do(t, http.MethodPost, fmt.Sprintf("/api/v1/runs/%d/cancel", run.ID), nil, nil)
	code, _, body := b.post(runPage+"/cancel", url.Values{"csrf": {token}}, "Referer", l.URL+runPage+"?tab=x")
	if code != http.StatusConflict || !strings.Contains(body, `<a href="`+runPage+`?tab=x">Back to the page</a>`) {
		t.Errorf("a refused cancel: %d\n%s", code, body)
	}
	code, _, body = b.post(runPage+"/cancel", url.Values{"csrf": {token}}, "Referer", "http://elsewhere.example"+runPage)
	if code != http.StatusConflict || strings.Contains(body, "Back to the page") {
		t.Errorf("a refused cancel sent from another site: %d\n%s", code, body)
	}
}

func TestAdminAndSettingsPages(t *testing.T) {
	t.Parallel()
	l := lathetest.Start(t, lathetest.Options{Agents: -1})
	l.Project(t, "app", lathetest.Repo(t, map[string]string{".lathe.yml": gatePipeline}))
	l.Do(t, http.MethodPost, "/api/v1/users", map[string]any{"name": "root", "password": "root-password", "admin": true}, nil)
	member(t, l, "owner", "app", "owner")
	writerPW := member(t, l, "writer", "app", "write")
	admin := newBrowserless(t, l.URL)
	admin.signIn("root", "root-password")

	// Registration tokens: the secret shows once, on the answer.
	code, _, body := admin.post("/admin/tokens", url.Values{"csrf": {admin.csrf("/admin/tokens")}, "name": {"farm"}, "action": {"create"}})
	if code != http.StatusOK || !strings.Contains(body, "lathe_reg_") {
		t.Fatalf("create token: %d\n%s", code, body)
	}
	if _, _, body = admin.get("/admin/tokens"); !strings.Contains(body, "farm") || strings.Contains(body, `id="new-token"`) {
		t.Fatalf("token list:\n%s", body)
	}
	if _, _, body = admin.get("/audit?type=login"); !strings.Contains(body, ">login</a>") || !strings.Contains(body, "root") {
		t.Fatalf("audit filtered by login:\n%s", body)
	}
	// An event of a project names the project, not its ID.
	if _, _, body = admin.get("/audit?type=role.granted"); !strings.Contains(body, "role.granted</a></td><td>app</td>") {
		t.Fatalf("audit of a project's event does not name the project:\n%s", body)
	}

	// Project settings, as the admin (owner of every project).
	settings := "/p/app/settings"
	tok := admin.csrf(settings)
	for _, post := range []struct {
		path string
		form url.Values
	}{
		{settings + "/grant", url.Values{"kind": {"user"}, "member": {"writer"}, "role": {"read"}}},
		{settings + "/visibility", url.Values{"visibility": {"public"}}},
	} {
		post.form.Set("csrf", tok)
		if code, _, body := admin.post(post.path, post.form); code != http.StatusSeeOther {
			t.Fatalf("POST %s: %d\n%s", post.path, code, body)
		}
	}
	code, _, body = admin.post(settings+"/hook-create", url.Values{"csrf": {tok}, "name": {"ci-hook"}})
	if code != http.StatusOK || !strings.Contains(body, "/api/v1/hooks/") {
		t.Fatalf("hook token: %d\n%s", code, body)
	}
	var p struct {
		Visibility string `json:"visibility"`
	}
	l.Do(t, http.MethodGet, "/api/v1/projects/app", nil, &p)
	if p.Visibility != "public" {
		t.Fatalf("visibility %s", p.Visibility)
	}
	// The writer, now a reader, may not see the settings.
	writer := newBrowserless(t, l.URL)
	writer.signIn("writer", writerPW)
	if code, _, body := writer.get(settings); code != http.StatusForbidden {
		t.Fatalf("a reader's settings page: %d\n%s", code, body)
	}
	if code, _, _ := writer.get("/admin/tokens"); code != http.StatusForbidden {
		t.Fatalf("a non-admin's tokens page: %d", code)
	}
}

func TestAgentsPage(t *testing.T) {
	t.Parallel()
	l := lathetest.Start(t, lathetest.Options{Agents: 1})
	l.Do(t, http.MethodPost, "/api/v1/users", map[string]any{"name": "root", "password": "root-password", "admin": true}, nil)
	admin := newBrowserless(t, l.URL)
	admin.signIn("root", "root-password")
	var agents lathe.Page[*lathe.Agent]
	l.Do(t, http.MethodGet, "/api/v1/agents", nil, &agents)
	name := agents.Items[0].Name
	_, _, body := admin.get("/agents")
	if !strings.Contains(body, name) || !strings.Contains(body, "Disable (drain)") || !strings.Contains(body, "isolation:") {
		t.Fatalf("agents page:\n%s", body)
	}
	if code, _, body := admin.post("/agents/"+name, url.Values{"csrf": {admin.csrf("/agents")}, "action": {"disable"}}); code != http.StatusSeeOther {
		t.Fatalf("disable: %d\n%s", code, body)
	}
	var a lathe.Agent
	l.Do(t, http.MethodGet, "/api/v1/agents/"+name, nil, &a)
	if !a.Disabled {
		t.Fatal("the agent is not disabled")
	}
	if _, _, body := admin.get("/agents"); !strings.Contains(body, "<strong>disabled</strong>") || !strings.Contains(body, `value="enable"`) {
		t.Fatalf("agents page after disabling:\n%s", body)
	}
}
