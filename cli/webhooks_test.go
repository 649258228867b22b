package cli_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/cli"
	"github.com/lathe-ci/lathe/clock"
	"github.com/lathe-ci/lathe/forge"
	"github.com/lathe-ci/lathe/internal/lathetest"
	"github.com/lathe-ci/lathe/outbound"
)

// whMessage is one request a webhook receiver got.
type whMessage struct {
	Path, ID, Type string
	Code           int
	SignedOK       bool
}

// whReceiver is a webhook receiver on 127.0.0.1: it checks each message's
// Standard Webhooks signature with the secret of the path it came to, and
// answers 500 to the first try of each message sent to a failing path.
type whReceiver struct {
	*httptest.Server
	mu      sync.Mutex
	secrets map[string]string
	failing map[string]bool
	tries   map[string]int
	got     []whMessage
}

func newWHReceiver(t *testing.T) *whReceiver {
	t.Helper()
	rc := &whReceiver{secrets: map[string]string{}, failing: map[string]bool{}, tries: map[string]int{}}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var ev struct{ Type string }
		json.Unmarshal(body, &ev)
		rc.mu.Lock()
		defer rc.mu.Unlock()
		id := r.Header.Get("webhook-id")
		m := whMessage{Path: r.URL.Path, ID: id, Type: ev.Type, Code: http.StatusNoContent,
			SignedOK: lathetest.VerifyWebhook(rc.secrets[r.URL.Path], id, r.Header.Get("webhook-timestamp"), body, r.Header.Get("webhook-signature"))}
		rc.tries[id]++
		if rc.tries[id] == 1 && rc.failing[r.URL.Path] {
			m.Code = http.StatusInternalServerError
		}
		rc.got = append(rc.got, m)
		w.WriteHeader(m.Code)
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *whReceiver) set(path, secret string, failFirst bool) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.secrets[path], rc.failing[path] = secret, failFirst
}

// messages are the requests that came to path.
func (rc *whReceiver) messages(path string) []whMessage {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var out []whMessage
	for _, m := range rc.got {
		if m.Path == path {
			out = append(out, m)
		}
	}
	return out
}

// whRun runs one CLI command line that may fail: its exit code, stdout and stderr.
func whRun(l *lathetest.Lathe, stdin string, args ...string) (int, string, string) {
	var stdout, stderr bytes.Buffer
	env := &cli.Env{Stdin: strings.NewReader(stdin), Stdout: &stdout, Stderr: &stderr, Getenv: func(string) string { return "" }}
	code := cli.Run(context.Background(), append(args, "--server", l.URL, "--token", l.AdminToken), env)
	return code, stdout.String(), stderr.String()
}

func whAllowLoopback(t *testing.T) outbound.Allow {
	t.Helper()
	a, err := outbound.ParseAllow("127.0.0.1/32")
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func whDeliveries(t *testing.T, l *lathetest.Lathe, project string, id int64) []*lathe.Delivery {
	t.Helper()
	var page lathe.Page[*lathe.Delivery]
	l.Do(t, http.MethodGet, fmt.Sprintf("/api/v1/projects/%s/webhooks/%d/deliveries", project, id), nil, &page)
	return page.Items
}

const whPipeline = "jobs:\n  build:\n    steps: [echo built]\n"

// A project's outgoing webhooks are managed from the CLI as through the
// API: the generated secret is printed once (a chosen one is read from
// stdin and never printed), list and get never show one, update changes
// only the fields given; the messages a run sends reach a receiver signed
// with the right secret, deliveries lists each with the HTTP code of every
// try, and redeliver sends one again.
func TestCLIWebhookCommands(t *testing.T) {
	clk := clock.NewManual(time.Now().UTC().Truncate(time.Second))
	rc := newWHReceiver(t)
	l := lathetest.Start(t, lathetest.Options{Agents: 1, OutboundAllow: whAllowLoopback(t), DeliveryPoll: 50 * time.Millisecond, Clock: clk})
	l.Project(t, "shop", lathetest.Repo(t, map[string]string{".lathe/ci.yml": whPipeline}))

	// create: a generated secret, printed once.
	out := runCLI(t, l, []string{"webhook", "create", "shop", rc.URL + "/runs", "--event", "run"})
	m := regexp.MustCompile(`^webhook (\d+) of shop: run events POSTed to (\S+)\n.*not be shown again.*\n(whsec_\S+)\n$`).FindStringSubmatch(out)
	if m == nil || m[2] != rc.URL+"/runs" {
		t.Fatalf("webhook create printed:\n%s", out)
	}
	runsID, _ := strconv.ParseInt(m[1], 10, 64)
	rc.set("/runs", m[3], true)
	var hook lathe.Webhook
	l.Do(t, http.MethodGet, fmt.Sprintf("/api/v1/projects/shop/webhooks/%d", runsID), nil, &hook)
	if hook.URL != rc.URL+"/runs" || !slices.Equal(hook.Events, []string{"run"}) || !hook.Active || hook.CreatedBy != "admin" {
		t.Errorf("the webhook as the API has it: %+v", hook)
	}

	// create with a chosen secret from stdin, paused, events comma-separated.
	chosen := "whsec_" + base64.StdEncoding.EncodeToString([]byte("a chosen secret of 32 bytes, ok!"))
	out = runCLIStdin(t, l, chosen+"\n", []string{"webhook", "create", "shop", rc.URL + "/jobs", "--event", "run,job", "--active=false", "--secret-stdin"})
	if strings.Contains(out, chosen) || strings.Contains(out, "whsec_") || !strings.Contains(out, "(paused)") {
		t.Errorf("webhook create --secret-stdin printed:\n%s", out)
	}
	var jobsID int64
	if _, err := fmt.Sscanf(out, "webhook %d of shop", &jobsID); err != nil {
		t.Fatalf("webhook create --secret-stdin printed:\n%s", out)
	}
	rc.set("/jobs", chosen, false)
	l.Do(t, http.MethodGet, fmt.Sprintf("/api/v1/projects/shop/webhooks/%d", jobsID), nil, &hook)
	if !slices.Equal(hook.Events, []string{"job", "run"}) || hook.Active {
		t.Errorf("the second webhook as the API has it: %+v", hook)
	}

	// list and get: never a secret.
	out = runCLI(t, l, []string{"webhook", "list", "shop"})
	if !regexp.MustCompile(fmt.Sprintf(`(?m)^%d\s+%s/runs\s+run\s+true\s+.*admin$`, runsID, regexp.QuoteMeta(rc.URL))).MatchString(out) ||
		!regexp.MustCompile(fmt.Sprintf(`(?m)^%d\s+%s/jobs\s+job,run\s+false\s`, jobsID, regexp.QuoteMeta(rc.URL))).MatchString(out) ||
		strings.Contains(out, "whsec_") {
		t.Errorf("webhook list:\n%s", out)
	}
	if got := runCLI(t, l, []string{"webhook", "list", "shop", "-q"}); got != fmt.Sprintf("%d\n%d\n", runsID, jobsID) {
		t.Errorf("webhook list -q printed %q", got)
	}
	checkSchema(t, runCLI(t, l, []string{"webhook", "list", "shop", "--json"}), "/api/v1/projects/shop/webhooks")
	get := fmt.Sprintf("/api/v1/projects/shop/webhooks/%d", jobsID)
	out = runCLI(t, l, []string{"webhook", "get", "shop", fmt.Sprint(jobsID), "--json"})
	checkSchema(t, out, get)
	if strings.Contains(out, "secret") {
		t.Errorf("webhook get --json shows a secret:\n%s", out)
	}
	if out := runCLI(t, l, []string{"webhook", "get", "shop", fmt.Sprint(runsID)}); !strings.Contains(out, rc.URL+"/runs") || strings.Contains(out, "whsec_") {
		t.Errorf("webhook get:\n%s", out)
	}

	// update: only the flags given change.
	out = runCLI(t, l, []string{"webhook", "update", "shop", fmt.Sprint(jobsID), "--active", "--event", "job", "--url", rc.URL + "/jobs2"})
	if out != fmt.Sprintf("webhook %d of shop updated\n", jobsID) {
		t.Errorf("webhook update printed %q", out)
	}
	rc.set("/jobs2", chosen, false)
	l.Do(t, http.MethodGet, get, nil, &hook)
	if !hook.Active || !slices.Equal(hook.Events, []string{"job"}) || hook.URL != rc.URL+"/jobs2" {
		t.Errorf("after update: %+v", hook)
	}
	runCLI(t, l, []string{"webhook", "update", "shop", fmt.Sprint(runsID), "--active=false"})
	l.Do(t, http.MethodGet, fmt.Sprintf("/api/v1/projects/shop/webhooks/%d", runsID), nil, &hook)
	if hook.Active || hook.URL != rc.URL+"/runs" || !slices.Equal(hook.Events, []string{"run"}) {
		t.Errorf("after update --active=false: %+v; want paused, the rest kept", hook)
	}
	runCLI(t, l, []string{"webhook", "update", "shop", fmt.Sprint(runsID), "--active"})

	// A run: its events reach the receiver, each signed with its webhook's
	// secret; the runs' first tries get 500 and are tried again 5 s on.
	run := l.Trigger(t, "shop", "", "ci")
	if done := l.Wait(t, run.ID, 2*time.Minute); done.Status != lathe.StatusSuccess {
		t.Fatalf("run %s", done.Status)
	}
	waitFor(t, "the first tries of the run events", 30*time.Second, func() bool { return len(rc.messages("/runs")) == 3 })
	waitFor(t, "the job events", 30*time.Second, func() bool { return len(rc.messages("/jobs2")) == 3 })
	waitFor(t, "the failed tries recorded", 30*time.Second, func() bool {
		for _, d := range whDeliveries(t, l, "shop", runsID) {
			if d.Attempts != 1 {
				return false
			}
		}
		return true
	})
	clk.Advance(10 * time.Second)
	waitFor(t, "the second tries", 30*time.Second, func() bool {
		ds := whDeliveries(t, l, "shop", runsID)
		for _, d := range ds {
			if d.Status != lathe.DeliveryDelivered {
				return false
			}
		}
		return len(ds) == 3
	})
	for _, path := range []string{"/runs", "/jobs2"} {
		for _, msg := range rc.messages(path) {
			if !msg.SignedOK {
				t.Errorf("%s: message %+v not signed with its webhook's secret", path, msg)
			}
		}
	}

	// deliveries: each message with the code of every try.
	deliveriesRoute := fmt.Sprintf("/api/v1/projects/shop/webhooks/%d/deliveries", runsID)
	out = runCLI(t, l, []string{"webhook", "deliveries", "shop", fmt.Sprint(runsID)})
	for _, typ := range []string{"run.queued", "run.running", "run.success"} {
		if !regexp.MustCompile(`(?m)^\d+\s+` + regexp.QuoteMeta(typ) + `\s+500,204\s+delivered\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+-$`).MatchString(out) {
			t.Errorf("webhook deliveries has no delivered %s tried twice (500, then 204):\n%s", typ, out)
		}
	}
	checkSchema(t, runCLI(t, l, []string{"webhook", "deliveries", "shop", fmt.Sprint(runsID), "--json"}), deliveriesRoute+"?limit=20")
	var success *lathe.Delivery
	for _, d := range whDeliveries(t, l, "shop", runsID) {
		if d.Context == "run.success" {
			success = d
		}
	}
	if success == nil {
		t.Fatal("no run.success delivery")
	}
	// Paging: one a page, the next page after the cursor printed.
	out = runCLI(t, l, []string{"webhook", "deliveries", "shop", fmt.Sprint(runsID), "--limit", "1"})
	next := regexp.MustCompile(`(?m)^more: add --before (\d+)$`).FindStringSubmatch(out)
	if next == nil || strings.Count(out, "delivered") != 1 {
		t.Fatalf("deliveries --limit 1:\n%s", out)
	}
	if got := runCLI(t, l, []string{"webhook", "deliveries", "shop", fmt.Sprint(runsID), "--limit", "5", "--before", next[1], "-q"}); len(strings.Fields(got)) != 2 {
		t.Errorf("deliveries --before %s -q printed %q; want the 2 older deliveries", next[1], got)
	}

	// redeliver: a new delivery of the same message, which the receiver gets.
	before := len(rc.messages("/runs"))
	out = runCLI(t, l, []string{"webhook", "redeliver", "shop", fmt.Sprint(runsID), fmt.Sprint(success.ID)})
	var again int64
	if _, err := fmt.Sscanf(out, "delivery %d queued: run.success", &again); err != nil || again == success.ID {
		t.Fatalf("webhook redeliver printed %q", out)
	}
	waitFor(t, "the redelivery", 30*time.Second, func() bool { return len(rc.messages("/runs")) == before+1 })
	ms := rc.messages("/runs")
	if last := ms[len(ms)-1]; last.ID != success.MessageID || last.Type != "run.success" || !last.SignedOK || last.Code != 204 {
		t.Errorf("the redelivered message: %+v; want run.success with webhook-id %s, signed", last, success.MessageID)
	}
	waitFor(t, "the redelivery recorded", 30*time.Second, func() bool {
		ds := whDeliveries(t, l, "shop", runsID)
		return len(ds) == 4 && ds[0].ID == again && ds[0].Status == lathe.DeliveryDelivered && ds[0].RedeliveryOf == success.ID
	})
	out = runCLI(t, l, []string{"webhook", "deliveries", "shop", fmt.Sprint(runsID)})
	if !regexp.MustCompile(fmt.Sprintf(`(?m)^%d\s+run\.success \(again: %d\)\s+204\s+delivered\s`, again, success.ID)).MatchString(out) {
		t.Errorf("webhook deliveries after redeliver:\n%s", out)
	}

	// delete.
	if out := runCLI(t, l, []string{"webhook", "delete", "shop", fmt.Sprint(jobsID)}); out != fmt.Sprintf("webhook %d of shop deleted\n", jobsID) {
		t.Errorf("webhook delete printed %q", out)
	}
	if err := l.Client.Do(context.Background(), http.MethodGet, get, nil, nil); err == nil {
		t.Error("the webhook is still there after delete")
	}

	// Bad input.
	for _, tc := range []struct {
		args  []string
		stdin string
		code  int
		err   string
	}{
		{args: []string{"webhook", "get", "shop"}, code: 2, err: "Usage:"},
		{args: []string{"webhook", "redeliver", "shop", fmt.Sprint(runsID)}, code: 2, err: "Usage:"},
		{args: []string{"webhook", "update", "shop", fmt.Sprint(runsID)}, code: 2, err: "nothing to change"},
		{args: []string{"webhook", "create", "shop", "ftp://example.com/in", "--event", "run"}, code: 1, err: "absolute http or https URL"},
		{args: []string{"webhook", "create", "shop", rc.URL, "--event", "push"}, code: 1, err: `"push" is not an event kind`},
		{args: []string{"webhook", "create", "shop", rc.URL}, code: 1, err: "events"},
		{args: []string{"webhook", "create", "shop", rc.URL, "--event", "run", "--secret-stdin"}, stdin: "not-a-secret\n", code: 1, err: "secret"},
		{args: []string{"webhook", "get", "shop", fmt.Sprint(jobsID)}, code: 1, err: "not found"},
		{args: []string{"webhook", "redeliver", "shop", fmt.Sprint(runsID), "999999"}, code: 1, err: "not found"},
	} {
		code, stdout, stderr := whRun(l, tc.stdin, tc.args...)
		if code != tc.code || !strings.Contains(stderr, tc.err) {
			t.Errorf("lathe %s: exit %d, stderr %q, stdout %q; want exit %d naming %q", strings.Join(tc.args, " "), code, stderr, stdout, tc.code, tc.err)
		}
	}
	if out := runCLI(t, l, []string{"webhook", "list", "shop", "--jq", ".items | length"}); strings.TrimSpace(out) != "1" {
		t.Errorf("the refused creates left webhooks behind: %s", out)
	}
}

// whRepos says the forge repository of each project (delivery.Repos).
type whRepos struct {
	mu    sync.Mutex
	repos map[int64]*forge.Repo
}

func (r *whRepos) ForgeRepo(_ context.Context, projectID int64) (*forge.Repo, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.repos[projectID], nil
}

// lathe statuses RUN lists the commit statuses a run sent its project's
// forge, with the forge's code for every try; a run of a project without
// a forge has none.
func TestCLIStatuses(t *testing.T) {
	var mu sync.Mutex
	var paths []string
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		paths = append(paths, r.Method+" "+r.URL.Path)
		mu.Unlock()
		w.WriteHeader(http.StatusCreated)
	}))
	defer fake.Close()
	repos := &whRepos{repos: map[int64]*forge.Repo{}}
	l := lathetest.Start(t, lathetest.Options{Agents: 1, OutboundAllow: whAllowLoopback(t), ForgeRepos: repos, DeliveryPoll: 50 * time.Millisecond})
	dir := lathetest.Repo(t, map[string]string{".lathe/ci.yml": whPipeline})
	p := l.Project(t, "forged", dir)
	repos.mu.Lock()
	repos.repos[p.ID] = &forge.Repo{Kind: forge.GitHub, APIURL: fake.URL, Token: "tok", Owner: "acme", Name: "widget"}
	repos.mu.Unlock()
	if err := l.Store.SetCommitStatuses(context.Background(), p.ID, true); err != nil {
		t.Fatal(err)
	}
	l.Project(t, "plain", dir)

	run := l.Trigger(t, "forged", "", "ci")
	if done := l.Wait(t, run.ID, 2*time.Minute); done.Status != lathe.StatusSuccess {
		t.Fatalf("run %s", done.Status)
	}
	r := fmt.Sprint(run.ID)
	waitFor(t, "three statuses delivered", 30*time.Second, func() bool {
		var list struct{ Items []*lathe.Delivery }
		l.Do(t, http.MethodGet, "/api/v1/runs/"+r+"/statuses", nil, &list)
		n := 0
		for _, d := range list.Items {
			if d.Status == lathe.DeliveryDelivered {
				n++
			}
		}
		return n == 3
	})
	out := runCLI(t, l, []string{"statuses", r})
	var states []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) < 5 || f[1] != "lathe/ci" || f[3] != "201" || f[4] != "delivered" {
			t.Errorf("statuses line %q; want lathe/ci delivered with the forge's 201", line)
			continue
		}
		states = append(states, f[2])
	}
	if strings.Join(states, " ") != "pending running success" {
		t.Errorf("statuses %v; want pending running success, in order\n%s", states, out)
	}
	mu.Lock()
	if len(paths) != 3 || !strings.HasPrefix(paths[0], "POST /repos/acme/widget/statuses/") {
		t.Errorf("the forge got %v", paths)
	}
	mu.Unlock()
	checkSchema(t, runCLI(t, l, []string{"statuses", r, "--json"}), "/api/v1/runs/"+r+"/statuses")

	// A run of a project without a forge reports nothing.
	plain := l.Trigger(t, "plain", "", "ci")
	l.Wait(t, plain.ID, 2*time.Minute)
	pr := fmt.Sprint(plain.ID)
	if out := runCLI(t, l, []string{"statuses", pr}); strings.TrimSpace(out) != "ID  CONTEXT  STATE  TRIES  STATUS  WHEN  ERROR" {
		t.Errorf("statuses of a run without a forge:\n%s", out)
	}
	checkSchema(t, runCLI(t, l, []string{"statuses", pr, "--json"}), "/api/v1/runs/"+pr+"/statuses")

	if code, _, stderr := whRun(l, "", "statuses"); code != 2 || !strings.Contains(stderr, "Usage:") {
		t.Errorf("statuses without a run: exit %d\n%s", code, stderr)
	}
	if code, _, stderr := whRun(l, "", "statuses", "999999"); code != 1 || !strings.Contains(stderr, "not found") {
		t.Errorf("statuses of no run: exit %d\n%s", code, stderr)
	}
}
