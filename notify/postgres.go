package notify

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
)

// Channel is the PostgreSQL channel the replicas notify each other on.
const Channel = "lathe"

// DefaultFallback is how often a Postgres notifier wakes every local waiter
// in case a notification was missed (see Postgres.Fallback).
const DefaultFallback = 5 * time.Second

// maxPayload bounds a notification's payload (PostgreSQL's limit is 8000
// bytes); a longer Work key is sent as "" (wake every claimer).
const maxPayload = 7000

// sendQueue bounds the messages waiting to be sent; past it the next batch
// asks every replica to wake all its waiters instead.
const sendQueue = 4096

// DefaultHeartbeat is how often a replica tells the others it is there
// (see Postgres.Heartbeat).
const DefaultHeartbeat = 5 * time.Second

// The payloads that are not messages: a replica that starts (or hears
// again after a lost connection) says hello, and every replica that hears
// one answers at once; each also says it is alive every heartbeat.
const (
	helloPayload = "+"
	alivePayload = "."
)

// Postgres is the Notifier of one server replica among several on one
// PostgreSQL database. Publish wakes this replica's waiters at once (a
// Local) and sends the message with NOTIFY to the others; a dedicated
// connection LISTENs and publishes the other replicas' messages locally.
// Every Fallback it also wakes every local waiter, so a notification lost
// (a dropped connection, a full queue) costs a delay, never a stall.
//
// A replica sends messages only while it hears another: replicas say
// hello when they start and that they are alive every Heartbeat, so a
// server alone on its database (the usual single-server deployment) makes
// no NOTIFY at all — which on PostgreSQL is a round trip on a connection
// of its own and a write to the server's notification queue for every
// change, for nobody. A replica that starts says hello before it serves,
// and the others answer at once; only a message sent in the millisecond
// before a newcomer's hello is heard is not sent to it, which its fallback
// covers.
type Postgres struct {
	*Local
	dsn    string
	origin string
	log    *slog.Logger
	// Fallback is how often every local waiter is woken whatever was heard
	// (DefaultFallback when zero; negative: never). Set it before Start.
	Fallback time.Duration
	// QueuedWork, when set, returns the Work keys (LabelsKey) of the jobs
	// queued now. The fallback then wakes, of the claimers, only those that
	// may take one of them — none on an idle fleet, where waking every
	// long-poll every Fallback would cost each agent a claim query — and
	// every other waiter but Agents' (a credential cache, whose TTL bounds
	// a lost message; waking it would empty it every Fallback). Set it
	// before Start.
	QueuedWork func(context.Context) ([]string, error)
	// Heartbeat is how often this replica says it is alive
	// (DefaultHeartbeat when zero); a replica not heard from for three
	// Heartbeats is taken as gone. Set it before Start.
	Heartbeat time.Duration
	// DropIncoming, when set, makes the notifier ignore the other
	// replicas' messages (tests prove the fallback with it).
	DropIncoming atomic.Bool

	queue    chan Message
	announce chan string // a hello or alive payload for send to send now
	overflow atomic.Bool
	received atomic.Int64
	fallen   atomic.Int64
	cancel   context.CancelFunc
	done     sync.WaitGroup

	mu    sync.Mutex
	peers map[string]time.Time // the other replicas' origins, by when last heard
	// heard is when another replica was last heard (UnixNano), read on
	// every Publish.
	heard atomic.Int64
}

// NewPostgres returns a notifier over the PostgreSQL database at dsn. Call
// Start before serving and Close when done.
func NewPostgres(dsn string, log *slog.Logger) *Postgres {
	b := make([]byte, 8)
	rand.Read(b)
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Postgres{Local: NewLocal(), dsn: dsn, origin: hex.EncodeToString(b), log: log, queue: make(chan Message, sendQueue),
		announce: make(chan string, 1), peers: map[string]time.Time{}}
}

// Start connects the listening connection (returning its error, so a
// server with a wrong database URL fails at once), then listens and sends
// in the background until Close.
func (p *Postgres) Start(ctx context.Context) error {
	if p.Heartbeat <= 0 {
		p.Heartbeat = DefaultHeartbeat
	}
	listen, err := p.listen(ctx)
	if err != nil {
		return err
	}
	// Say hello before serving, so the others send to this replica from
	// its first request on.
	if err := notifyAll(ctx, listen, []string{p.own(helloPayload)}); err != nil {
		listen.Close(ctx)
		return fmt.Errorf("notifier: hello: %w", err)
	}
	ctx, p.cancel = context.WithCancel(context.WithoutCancel(ctx))
	p.done.Add(3)
	go func() { defer p.done.Done(); p.receive(ctx, listen) }()
	go func() { defer p.done.Done(); p.send(ctx) }()
	go func() { defer p.done.Done(); p.fallback(ctx) }()
	return nil
}

// Close stops listening and sending.
func (p *Postgres) Close() {
	if p.cancel != nil {
		p.cancel()
		p.done.Wait()
	}
}

// Received counts the other replicas' messages published locally.
func (p *Postgres) Received() int64 { return p.received.Load() }

// Peers counts the other replicas heard from within three Heartbeats.
func (p *Postgres) Peers() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, at := range p.peers {
		if time.Since(at) < p.peerTTL() {
			n++
		}
	}
	return n
}

func (p *Postgres) peerTTL() time.Duration { return 3 * p.Heartbeat }

// alone says whether no other replica was heard from within three Heartbeats.
func (p *Postgres) alone() bool {
	return time.Since(time.Unix(0, p.heard.Load())) >= p.peerTTL()
}

// hear records that the replica origin is there.
func (p *Postgres) hear(origin string) {
	now := time.Now()
	p.heard.Store(now.UnixNano())
	p.mu.Lock()
	defer p.mu.Unlock()
	p.peers[origin] = now
	if len(p.peers) > 64 {
		for o, at := range p.peers {
			if now.Sub(at) >= p.peerTTL() {
				delete(p.peers, o)
			}
		}
	}
}

// own is payload as this replica sends it: after its origin.
func (p *Postgres) own(payload string) string { return p.origin + " " + payload }

// say has send send payload (hello or alive) now, unless one is waiting.
func (p *Postgres) say(payload string) {
	select {
	case p.announce <- p.own(payload):
	default:
	}
}

// Fallbacks counts the fallback wake-ups so far.
func (p *Postgres) Fallbacks() int64 { return p.fallen.Load() }

// Publish implements Notifier: it wakes this replica's waiters and queues
// m for the others (never blocking the committed writer).
func (p *Postgres) Publish(m Message) {
	p.Local.Publish(m)
	if p.alone() {
		return
	}
	select {
	case p.queue <- m:
	default:
		p.overflow.Store(true)
	}
}

func (p *Postgres) listen(ctx context.Context) (*pgx.Conn, error) {
	c, err := pgx.Connect(ctx, p.dsn)
	if err != nil {
		return nil, fmt.Errorf("notifier: connect: %w", err)
	}
	if _, err := c.Exec(ctx, "LISTEN "+Channel); err != nil {
		c.Close(ctx)
		return nil, fmt.Errorf("notifier: listen: %w", err)
	}
	return c, nil
}

// receive publishes the other replicas' messages locally, reconnecting
// (and then waking every waiter, for what it missed) when the connection
// fails.
func (p *Postgres) receive(ctx context.Context, c *pgx.Conn) {
	defer func() {
		if c != nil {
			c.Close(context.Background())
		}
	}()
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		if c == nil {
			var err error
			if c, err = p.listen(ctx); err != nil {
				p.log.Warn("notifier: reconnecting", "err", err, "in", backoff)
				select {
				case <-time.After(backoff):
				case <-ctx.Done():
				}
				backoff = min(2*backoff, 5*time.Second)
				continue
			}
			backoff = 100 * time.Millisecond
			p.WakeAll()
			p.say(helloPayload) // the others may have taken this replica as gone
		}
		n, err := c.WaitForNotification(ctx)
		if err != nil {
			if ctx.Err() == nil {
				p.log.Warn("notifier: connection lost", "err", err)
			}
			c.Close(context.Background())
			c = nil
			continue
		}
		p.deliver(n.Payload)
	}
}

// deliver publishes one payload heard from another replica locally.
func (p *Postgres) deliver(payload string) {
	origin, rest, ok := strings.Cut(payload, " ")
	if !ok || origin == p.origin {
		return
	}
	p.hear(origin)
	switch rest {
	case helloPayload:
		p.say(alivePayload)
		return
	case alivePayload:
		return
	}
	if p.DropIncoming.Load() {
		return
	}
	p.received.Add(1)
	if rest == "*" {
		p.WakeAll()
		return
	}
	topic, key, _ := strings.Cut(rest, " ")
	p.Local.Publish(Message{Topic: Topic(topic), Key: key})
}

func (p *Postgres) payload(m Message) string {
	s := p.own(string(m.Topic) + " " + m.Key)
	if len(s) > maxPayload {
		s = p.own(string(m.Topic) + " ")
	}
	return s
}

// send NOTIFYs the queued messages, in batches of one statement each, on
// its own connection (reconnecting when it fails), while another replica
// is there to hear them; and says this replica is alive every Heartbeat
// and when a newcomer says hello.
func (p *Postgres) send(ctx context.Context) {
	var c *pgx.Conn
	defer func() {
		if c != nil {
			c.Close(context.Background())
		}
	}()
	beat := time.NewTimer(jitter(p.Heartbeat))
	defer beat.Stop()
	var batch []string
	for {
		select {
		case m := <-p.queue:
			batch = p.collect(batch[:0], m)
			if p.alone() {
				continue // nobody to hear it: the last other replica left meanwhile
			}
		case s := <-p.announce:
			batch = append(batch[:0], s)
		case <-beat.C:
			batch = append(batch[:0], p.own(alivePayload))
			beat.Reset(jitter(p.Heartbeat))
		case <-ctx.Done():
			return
		}
		for try := 0; ctx.Err() == nil; try++ {
			if c == nil {
				var err error
				if c, err = pgx.Connect(ctx, p.dsn); err != nil {
					p.log.Warn("notifier: send: connect", "err", err)
					select {
					case <-time.After(min(time.Duration(try+1)*100*time.Millisecond, 2*time.Second)):
					case <-ctx.Done():
					}
					continue
				}
			}
			err := notifyAll(ctx, c, batch)
			if err == nil {
				break
			}
			p.log.Warn("notifier: send", "err", err)
			c.Close(context.Background())
			c = nil
			if try >= 2 {
				// Give up on this batch: the others' fallback covers it.
				p.overflow.Store(true)
				break
			}
		}
	}
}

// collect appends to batch the payloads of m and of the messages queued
// behind it (each once, at most 256), and the wake-all an overflow asks for.
func (p *Postgres) collect(batch []string, m Message) []string {
	seen := map[string]bool{}
	batch = append(batch, p.payload(m))
	seen[batch[0]] = true
more:
	for len(batch) < 256 {
		select {
		case m = <-p.queue:
			if s := p.payload(m); !seen[s] {
				seen[s] = true
				batch = append(batch, s)
			}
		default:
			break more
		}
	}
	if p.overflow.Swap(false) {
		batch = append(batch, p.own("*"))
	}
	return batch
}

// notifyAll sends each payload on Channel, in one statement.
func notifyAll(ctx context.Context, c *pgx.Conn, payloads []string) error {
	_, err := c.Exec(ctx, "SELECT pg_notify($1, x) FROM unnest($2::text[]) AS x", Channel, payloads)
	return err
}

// fallback wakes the local waiters every Fallback, give or take a fifth
// (so the replicas' fallbacks spread out instead of meeting): every one of
// them, or with QueuedWork set, the claimers that may take a queued job and
// every other waiter.
func (p *Postgres) fallback(ctx context.Context) {
	every := p.Fallback
	if every == 0 {
		every = DefaultFallback
	}
	if every < 0 {
		return
	}
	t := time.NewTimer(jitter(every))
	defer t.Stop()
	for {
		select {
		case <-t.C:
			p.fallen.Add(1)
			p.wakeFallback(ctx)
			t.Reset(jitter(every))
		case <-ctx.Done():
			return
		}
	}
}

// jitter is d give or take a fifth, at random.
func jitter(d time.Duration) time.Duration {
	return d*4/5 + mrand.N(d*2/5+1)
}

func (p *Postgres) wakeFallback(ctx context.Context) {
	if p.QueuedWork == nil {
		p.WakeAll()
		return
	}
	keys, err := p.QueuedWork(ctx)
	if err != nil {
		p.log.Warn("notifier fallback: read the queued jobs' labels; waking every claimer", "err", err)
		p.WakeAll()
		return
	}
	p.wakeTopics(func(t Topic) bool { return t != Work && t != Agents })
	for _, k := range keys {
		p.Local.Publish(Message{Topic: Work, Key: k})
	}
}
