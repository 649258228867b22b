package server

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/lathe-ci/lathe/blob"
	"github.com/lathe-ci/lathe/store"
)

// The blob store's operations and the deliveries' tries are counted by
// what they were and how they ended.
func TestObservationsOfBlobsAndDeliveries(t *testing.T) {
	o := newObservations()
	b := o.blobStore("artifacts", blob.NewDir(t.TempDir()))
	ctx := context.Background()
	if _, err := b.Put(ctx, "1/a.txt", strings.NewReader("hi"), blob.Want{Size: 2}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Get(ctx, "1/missing", 0, -1); err == nil {
		t.Fatal("got a missing object")
	}
	o.observeDelivery("status", store.Try{Delivered: true}, time.Millisecond)
	o.observeDelivery("webhook", store.Try{Retry: time.Now()}, time.Millisecond)
	o.observeDelivery("webhook", store.Try{}, time.Millisecond)

	reg := prometheus.NewRegistry()
	reg.MustRegister(o.collectible...)
	rec := httptest.NewRecorder()
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body := rec.Body.String()
	for _, want := range []string{
		`lathe_blob_operation_duration_seconds_count{op="put",outcome="ok",store="artifacts"} 1`,
		`lathe_blob_operation_duration_seconds_count{op="get",outcome="error",store="artifacts"} 1`,
		`lathe_outbound_deliveries_total{kind="status",outcome="delivered"} 1`,
		`lathe_outbound_deliveries_total{kind="webhook",outcome="retry"} 1`,
		`lathe_outbound_deliveries_total{kind="webhook",outcome="failed"} 1`,
		`lathe_outbound_delivery_duration_seconds_count{kind="webhook"} 2`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q:\n%s", want, body)
		}
	}
}

// An agent's infrastructure reason counts by its kind, not its details.
func TestEndReasonLabelsAreFew(t *testing.T) {
	for reason, want := range map[string]string{
		"":                       "",
		store.ReasonLeaseExpired: store.ReasonLeaseExpired,
		"infrastructure: no space left on device": "infrastructure: no space left on device",
		"infrastructure: the server did not answer: artifact dist/app.tgz: server said 503: the database is unreachable": "infrastructure: the server did not answer",
	} {
		if got := reasonLabel(reason); got != want {
			t.Errorf("reasonLabel(%q) = %q, want %q", reason, got, want)
		}
	}
}
