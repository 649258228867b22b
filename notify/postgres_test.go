package notify

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/lathe-ci/lathe/internal/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// startPostgres starts a notifier on dsn, closed when the test ends.
func startPostgres(t *testing.T, dsn string, fallback time.Duration) *Postgres {
	t.Helper()
	p := NewPostgres(dsn, nil)
	p.Fallback = fallback
	if err := p.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// waitPeers waits (bounded) until p hears n other replicas.
func waitPeers(t *testing.T, p *Postgres, n int) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); p.Peers() != n; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("hears %d other replicas after 30 s, want %d", p.Peers(), n)
		}
	}
}

// waitFired waits (bounded) for ch to close.
func waitFired(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(30 * time.Second):
		t.Fatalf("%s: not woken in 30 s", what)
	}
}

func TestPostgresCarriesMessagesBetweenReplicas(t *testing.T) {
	dsn := pgtest.Shared(t).NewDatabase(t)
	a := startPostgres(t, dsn, -1)
	b := startPostgres(t, dsn, -1)
	ctx := t.Context()
	waitPeers(t, a, 1)
	waitPeers(t, b, 1)

	linux := b.Wait(ctx, Filter{Topic: Work, Labels: []string{"linux", "amd64"}})
	mac := b.Wait(ctx, Filter{Topic: Work, Labels: []string{"macos"}})
	run := b.Wait(ctx, Filter{Topic: Run, Key: "7"})
	own := a.Wait(ctx, Filter{Topic: Run, Key: "7"})
	a.Publish(Message{Topic: Work, Key: LabelsKey([]string{"amd64", "linux"})})
	a.Publish(Message{Topic: Run, Key: "7"})
	waitFired(t, linux, "b's linux claim")
	waitFired(t, run, "b's run follower")
	if !fired(own) {
		t.Error("a's own waiter was not woken at once by its publish")
	}
	// Messages arrive in order: the run message came after the linux one,
	// so had the macos claim been woken it would be by now.
	if fired(mac) {
		t.Error("a linux job woke b's macos claim")
	}
	if got := a.Received(); got != 0 {
		t.Errorf("a received %d of its own messages back, want 0", got)
	}
	// A Work key too long for a payload still wakes every claimer.
	long := make([]string, 2000)
	for i := range long {
		long[i] = "label-with-a-long-name-" + string(rune('a'+i%26)) + time.Duration(i).String()
	}
	mac = b.Wait(ctx, Filter{Topic: Work, Labels: []string{"macos"}})
	a.Publish(Message{Topic: Work, Key: LabelsKey(long)})
	waitFired(t, mac, "b's macos claim after a too-long key")
}

func TestPostgresFallbackWakesWhenNotificationsAreLost(t *testing.T) {
	dsn := pgtest.Shared(t).NewDatabase(t)
	a := startPostgres(t, dsn, -1)
	b := startPostgres(t, dsn, 200*time.Millisecond)
	b.DropIncoming.Store(true)
	claim := b.Wait(t.Context(), Filter{Topic: Work, Labels: []string{"linux"}})
	a.Publish(Message{Topic: Work, Key: "linux"})
	waitFired(t, claim, "b's claim with every notification dropped")
	if b.Received() != 0 || b.Fallbacks() == 0 {
		t.Errorf("received %d, fallbacks %d: want the fallback, not the notification, to wake it", b.Received(), b.Fallbacks())
	}
}

func TestPostgresFallbackWakesOnlyClaimersOfQueuedWork(t *testing.T) {
	dsn := pgtest.Shared(t).NewDatabase(t)
	p := NewPostgres(dsn, nil)
	p.Fallback = 100 * time.Millisecond
	queued := make(chan []string, 1)
	queued <- nil // the first fallbacks find nothing queued
	p.QueuedWork = func(context.Context) ([]string, error) {
		select {
		case keys := <-queued:
			queued <- keys
			return keys, nil
		default:
			return nil, nil
		}
	}
	if err := p.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	ctx := t.Context()

	linux := p.Wait(ctx, Filter{Topic: Work, Labels: []string{"linux"}})
	mac := p.Wait(ctx, Filter{Topic: Work, Labels: []string{"macos"}})
	follower := p.Wait(ctx, Filter{Topic: Attempt, Key: "3"})
	// A log follower is woken by the fallback whatever is queued.
	waitFired(t, follower, "the log follower")
	// Two more fallbacks with nothing queued leave the claimers waiting.
	for n := p.Fallbacks(); p.Fallbacks() < n+2; {
		waitFired(t, p.Wait(ctx, Filter{Topic: Attempt, Key: "3"}), "the next fallback")
	}
	if fired(linux) || fired(mac) {
		t.Fatal("a fallback with no queued job woke a claimer")
	}
	<-queued
	queued <- []string{"linux"}
	waitFired(t, linux, "the linux claimer once a linux job is queued")
	if fired(mac) {
		t.Error("a queued linux job woke the macos claimer")
	}
}

// A replica alone on its database sends no message (only its hello and
// heartbeats); once another says hello it sends them, and when that one
// is gone for three heartbeats it stops again.
func TestPostgresSendsOnlyWhileAnotherReplicaListens(t *testing.T) {
	dsn := pgtest.Shared(t).NewDatabase(t)
	ctx := t.Context()
	// A bare listener, which never says hello: what goes on the channel.
	l, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close(context.Background())
	if _, err := l.Exec(ctx, "LISTEN "+Channel); err != nil {
		t.Fatal(err)
	}
	// heardMessage reads the channel until a message payload arrives or
	// wait passes, skipping hellos and heartbeats.
	heardMessage := func(wait time.Duration) string {
		t.Helper()
		wctx, cancel := context.WithTimeout(ctx, wait)
		defer cancel()
		for {
			n, err := l.WaitForNotification(wctx)
			if err != nil {
				return ""
			}
			if _, rest, _ := strings.Cut(n.Payload, " "); rest != helloPayload && rest != alivePayload {
				return rest
			}
		}
	}

	a := NewPostgres(dsn, nil)
	a.Fallback, a.Heartbeat = -1, 100*time.Millisecond
	if err := a.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	a.Publish(Message{Topic: Run, Key: "1"})
	if got := heardMessage(500 * time.Millisecond); got != "" {
		t.Fatalf("a replica alone sent %q", got)
	}
	if a.Peers() != 0 {
		t.Fatalf("a alone hears %d replicas", a.Peers())
	}

	b := NewPostgres(dsn, nil)
	b.Fallback, b.Heartbeat = -1, 100*time.Millisecond
	if err := b.Start(ctx); err != nil {
		t.Fatal(err)
	}
	waitPeers(t, a, 1)
	waitPeers(t, b, 1)
	a.Publish(Message{Topic: Run, Key: "2"})
	if got := heardMessage(10 * time.Second); got != "run 2" {
		t.Fatalf("with another replica there, a sent %q, want %q", got, "run 2")
	}

	b.Close()
	waitPeers(t, a, 0)
	a.Publish(Message{Topic: Run, Key: "3"})
	if got := heardMessage(500 * time.Millisecond); got != "" {
		t.Fatalf("once the other replica was gone, a sent %q", got)
	}
}
