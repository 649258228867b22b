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

// Postgres is the Notifier of one server replica among several on one
// PostgreSQL database. Publish wakes this replica's waiters at once (a
// Local) and sends the message with NOTIFY to the others; a dedicated
// connection LISTENs and publishes the other replicas' messages locally.
// Every Fallback it also wakes every local waiter, so a notification lost
// (a dropped connection, a full queue) costs a delay, never a stall.
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
	// DropIncoming, when set, makes the notifier ignore the other
	// replicas' messages (tests prove the fallback with it).
	DropIncoming atomic.Bool

	queue    chan Message
	overflow atomic.Bool
	received atomic.Int64
	fallen   atomic.Int64
	cancel   context.CancelFunc
	done     sync.WaitGroup
}

// NewPostgres returns a notifier over the PostgreSQL database at dsn. Call
// Start before serving and Close when done.
func NewPostgres(dsn string, log *slog.Logger) *Postgres {
	b := make([]byte, 8)
	rand.Read(b)
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Postgres{Local: NewLocal(), dsn: dsn, origin: hex.EncodeToString(b), log: log, queue: make(chan Message, sendQueue)}
}

// Start connects the listening connection (returning its error, so a
// server with a wrong database URL fails at once), then listens and sends
// in the background until Close.
func (p *Postgres) Start(ctx context.Context) error {
	listen, err := p.listen(ctx)
	if err != nil {
		return err
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

// Fallbacks counts the fallback wake-ups so far.
func (p *Postgres) Fallbacks() int64 { return p.fallen.Load() }

// Publish implements Notifier: it wakes this replica's waiters and queues
// m for the others (never blocking the committed writer).
func (p *Postgres) Publish(m Message) {
	p.Local.Publish(m)
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
	if !ok || origin == p.origin || p.DropIncoming.Load() {
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
	s := p.origin + " " + string(m.Topic) + " " + m.Key
	if len(s) > maxPayload {
		s = p.origin + " " + string(m.Topic) + " "
	}
	return s
}

// send NOTIFYs the queued messages, in batches of one statement each, on
// its own connection (reconnecting when it fails).
func (p *Postgres) send(ctx context.Context) {
	var c *pgx.Conn
	defer func() {
		if c != nil {
			c.Close(context.Background())
		}
	}()
	var batch []string
	seen := map[string]bool{}
	for {
		var m Message
		select {
		case m = <-p.queue:
		case <-ctx.Done():
			return
		}
		batch, seen = append(batch[:0], p.payload(m)), map[string]bool{}
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
			batch = append(batch, p.origin+" *")
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
			_, err := c.Exec(ctx, "SELECT pg_notify($1, x) FROM unnest($2::text[]) AS x", Channel, batch)
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
