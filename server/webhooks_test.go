package server_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/clock"
	"github.com/lathe-ci/lathe/forge"
	"github.com/lathe-ci/lathe/internal/lathetest"
)

// receiver is a webhook receiver on 127.0.0.1 that checks each message's
// signature with the webhook's secret (verified here, independently of
// Lathe's signing code) and answers fail to a message's first try.
type receiver struct {
	*httptest.Server
	mu     sync.Mutex
	secret string
	fail   int
	got    []message
	tries  map[string]int
	badSig []string
}

// message is one request a receiver got.
type message struct {
	ID, Type  string
	Timestamp int64
	Code      int
}

func newReceiver(t *testing.T, failFirst int) *receiver {
	t.Helper()
	rc := &receiver{fail: failFirst, tries: map[string]int{}}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		defer rc.mu.Unlock()
		id, ts := r.Header.Get("webhook-id"), r.Header.Get("webhook-timestamp")
		if !lathetest.VerifyWebhook(rc.secret, id, ts, body, r.Header.Get("webhook-signature")) {
			rc.badSig = append(rc.badSig, id)
		}
		var ev struct{ Type string }
		json.Unmarshal(body, &ev)
		sec, _ := strconv.ParseInt(ts, 10, 64)
		m := message{ID: id, Type: ev.Type, Timestamp: sec, Code: http.StatusNoContent}
		rc.tries[id]++
		if rc.tries[id] == 1 && rc.fail != 0 {
			m.Code = rc.fail
		}
		rc.got = append(rc.got, m)
		w.WriteHeader(m.Code)
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) messages() []message {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return slices.Clone(rc.got)
}

func (rc *receiver) setSecret(s string) {
	rc.mu.Lock()
	rc.secret = s
	rc.mu.Unlock()
}

func types(ms []message) string {
	var ts []string
	for _, m := range ms {
		ts = append(ts, m.Type)
	}
	slices.Sort(ts)
	return strings.Join(ts, " ")
}

func webhookDeliveries(t *testing.T, l *lathetest.Lathe, project string, hookID int64) []*lathe.Delivery {
	t.Helper()
	var page lathe.Page[*lathe.Delivery]
	l.Do(t, http.MethodGet, fmt.Sprintf("/api/v1/projects/%s/webhooks/%d/deliveries", project, hookID), nil, &page)
	return page.Items
}

// A project's webhook gets each status change of its runs (and another
// its jobs'), signed with the Standard Webhooks scheme; a message answered
// with 500 is tried again once its wait (5 s, on the server's clock) has
// passed, with the same webhook-id; a delivery can be sent again by hand.
func TestWebhookSignedAndRetriedAfter500(t *testing.T) {
	clk := clock.NewManual(time.Now().UTC().Truncate(time.Second))
	runs, jobs := newReceiver(t, http.StatusInternalServerError), newReceiver(t, 0)
	l := lathetest.Start(t, lathetest.Options{OutboundAllow: allowLoopback(t), DeliveryPoll: 50 * time.Millisecond, Clock: clk})
	dir := lathetest.Repo(t, map[string]string{".lathe/ci.yml": oneJobPipeline})
	l.Project(t, "hooked", dir)

	var hook, jobHook lathe.Webhook
	l.Do(t, http.MethodPost, "/api/v1/projects/hooked/webhooks", map[string]any{"url": runs.URL + "/in", "events": []string{"run"}}, &hook)
	if !strings.HasPrefix(hook.Secret, "whsec_") || !hook.Active {
		t.Fatalf("webhook = %+v; want active, with a whsec_ secret", hook)
	}
	runs.setSecret(hook.Secret)
	chosen := "whsec_" + base64.StdEncoding.EncodeToString([]byte("a chosen secret of 32 bytes, ok!"))
	l.Do(t, http.MethodPost, "/api/v1/projects/hooked/webhooks", map[string]any{"url": jobs.URL, "events": []string{"job"}, "secret": chosen}, &jobHook)
	if jobHook.Secret != "" {
		t.Errorf("a webhook created with a chosen secret echoed it: %+v", jobHook)
	}
	jobs.setSecret(chosen)
	var got lathe.Webhook
	l.Do(t, http.MethodGet, fmt.Sprintf("/api/v1/projects/hooked/webhooks/%d", hook.ID), nil, &got)
	if got.Secret != "" || got.URL != runs.URL+"/in" {
		t.Errorf("GET webhook = %+v; want its URL and no secret", got)
	}

	run := l.Trigger(t, "hooked", "", "ci")
	l.Wait(t, run.ID, 60*time.Second)
	waitFor(t, 30*time.Second, "the first try of each run event", func() bool { return len(runs.messages()) == 3 })
	waitFor(t, 30*time.Second, "the job events", func() bool { return len(jobs.messages()) == 3 })
	if got := types(runs.messages()); got != "run.queued run.running run.success" {
		t.Errorf("run events %s", got)
	}
	if got := types(jobs.messages()); got != "job.queued job.running job.success" {
		t.Errorf("job events %s", got)
	}
	waitFor(t, 30*time.Second, "the failed tries recorded", func() bool {
		for _, d := range webhookDeliveries(t, l, "hooked", hook.ID) {
			if d.Attempts != 1 {
				return false
			}
		}
		return true
	})
	for _, d := range webhookDeliveries(t, l, "hooked", hook.ID) {
		if d.Status != lathe.DeliveryQueued || d.HTTPCode != 500 || d.NextAt == nil ||
			d.NextAt.Before(clk.Now().Add(5*time.Second)) || d.NextAt.After(clk.Now().Add(6*time.Second)) {
			t.Errorf("after a 500: %+v; want queued for a try 5 s on", d)
		}
	}

	// The server's clock passes the wait: each message is tried again.
	clk.Advance(10 * time.Second)
	waitFor(t, 30*time.Second, "the second tries", func() bool { return len(runs.messages()) == 6 })
	waitFor(t, 30*time.Second, "the second tries recorded", func() bool {
		for _, d := range webhookDeliveries(t, l, "hooked", hook.ID) {
			if d.Status != lathe.DeliveryDelivered {
				return false
			}
		}
		return true
	})
	ms := runs.messages()
	for i, m := range ms[3:] {
		first := slices.IndexFunc(ms[:3], func(f message) bool { return f.ID == m.ID })
		if first < 0 || ms[first].Type != m.Type || ms[first].Code != 500 || m.Code != 204 || m.Timestamp != clk.Now().Unix() {
			t.Errorf("retry %d: %+v; want the same webhook-id as a first try that got 500, stamped with the server's clock", i+1, m)
		}
	}
	ds := webhookDeliveries(t, l, "hooked", hook.ID)
	for _, d := range ds {
		if d.Attempts != 2 || d.HTTPCode != 204 || d.Target != runs.URL+"/in" || !strings.HasPrefix(d.MessageID, "msg_") {
			t.Errorf("delivered: %+v", d)
		}
		if len(d.Tries) != 2 || d.Tries[0].HTTPCode != 500 || d.Tries[0].Error != "HTTP 500" || d.Tries[1].HTTPCode != 204 ||
			d.Tries[1].At.Sub(d.Tries[0].At) != 10*time.Second {
			t.Errorf("tries %+v; want a 500, then a 204 10 s later on the server's clock", d.Tries)
		}
	}

	// Redelivery: the same message, as a new delivery.
	var again lathe.Delivery
	l.Do(t, http.MethodPost, fmt.Sprintf("/api/v1/projects/hooked/webhooks/%d/deliveries/%d/redeliver", hook.ID, ds[0].ID), nil, &again)
	if again.RedeliveryOf != ds[0].ID || again.MessageID != ds[0].MessageID || again.ID <= ds[0].ID {
		t.Errorf("redelivery = %+v", again)
	}
	waitFor(t, 30*time.Second, "the redelivery", func() bool { return len(runs.messages()) == 7 })
	if m := runs.messages()[6]; m.ID != ds[0].MessageID || m.Code != 204 {
		t.Errorf("redelivered %+v; want message %s", m, ds[0].MessageID)
	}
	runs.mu.Lock()
	bad := append(runs.badSig, jobs.badSig...)
	runs.mu.Unlock()
	if len(bad) > 0 {
		t.Errorf("messages with a bad signature: %v", bad)
	}

	// Deactivated, the webhook gets nothing more; deleted, it is gone.
	l.Do(t, http.MethodPatch, fmt.Sprintf("/api/v1/projects/hooked/webhooks/%d", hook.ID), map[string]any{"active": false}, &got)
	if got.Active {
		t.Errorf("PATCH active=false: %+v", got)
	}
	run = l.Trigger(t, "hooked", "", "ci")
	l.Wait(t, run.ID, 60*time.Second)
	waitFor(t, 30*time.Second, "the second run's job events", func() bool { return len(jobs.messages()) == 6 })
	if n := len(webhookDeliveries(t, l, "hooked", hook.ID)); n != 4 {
		t.Errorf("an inactive webhook has %d deliveries; want the 4 from before", n)
	}
	l.Do(t, http.MethodDelete, fmt.Sprintf("/api/v1/projects/hooked/webhooks/%d", hook.ID), nil, nil)
	var list struct{ Items []*lathe.Webhook }
	l.Do(t, http.MethodGet, "/api/v1/projects/hooked/webhooks", nil, &list)
	if len(list.Items) != 1 || list.Items[0].ID != jobHook.ID {
		t.Errorf("webhooks after delete: %+v", list.Items)
	}
}

// Without the allow-list, a webhook or a forge on 127.0.0.1 is never
// reached: each delivery fails at once with the reason, and the run is
// unaffected.
func TestOutboundRefusedWithoutAllowList(t *testing.T) {
	lathetest.Engines(t, testOutboundRefused)
}

func testOutboundRefused(t *testing.T, o lathetest.Options) {
	rc := newReceiver(t, 0)
	f := newFakeForge(t, 201)
	repos := &testRepos{}
	o.ForgeRepos, o.DeliveryPoll = repos, 100*time.Millisecond
	l := lathetest.Start(t, o)
	dir := lathetest.Repo(t, map[string]string{".lathe/ci.yml": oneJobPipeline})
	forgeProject(t, l, repos, "local", dir, &forge.Repo{Kind: forge.GitHub, APIURL: f.URL, Owner: "o", Name: "r"})
	var hook lathe.Webhook
	l.Do(t, http.MethodPost, "/api/v1/projects/local/webhooks", map[string]any{"url": rc.URL, "events": []string{"run"}}, &hook)

	run := l.Trigger(t, "local", "", "ci")
	if done := l.Wait(t, run.ID, 60*time.Second); done.Status != lathe.StatusSuccess {
		t.Fatalf("run %s", done.Status)
	}
	const why = "destination 127.0.0.1 is a loopback address; allow it with --outbound-allow"
	waitFor(t, 30*time.Second, "the refusals recorded", func() bool {
		for _, ds := range [][]*lathe.Delivery{runStatuses(t, l, run.ID), webhookDeliveries(t, l, "local", hook.ID)} {
			if len(ds) != 3 {
				return false
			}
			for _, d := range ds {
				if d.Status != lathe.DeliveryFailed {
					return false
				}
			}
		}
		return true
	})
	for _, d := range append(runStatuses(t, l, run.ID), webhookDeliveries(t, l, "local", hook.ID)...) {
		if d.Error != why || d.Attempts != 1 || d.HTTPCode != 0 || d.NextAt != nil || len(d.Tries) != 1 || d.Tries[0].Error != why {
			t.Errorf("%+v; want failed once with %q", d, why)
		}
	}
	if n := len(rc.messages()) + len(f.requests()); n != 0 {
		t.Errorf("%d requests reached 127.0.0.1", n)
	}
}
