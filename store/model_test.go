package store_test

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lathe-ci/lathe/clock"
	"github.com/lathe-ci/lathe/internal/pgtest"
	"github.com/lathe-ci/lathe/store"
)

// The model-based test of scheduling (issue 13, item 4): random pipelines
// driven by random sequences of events, with the invariants of
// model_check_test.go checked after every step, on SQLite and, for a share
// of the sequences, on PostgreSQL. A failing sequence is shrunk and printed
// with its seed; -model.seed replays it.
//
//	go test ./store/ -run Model                                  # the default, ~30 s
//	go test ./store/ -run Model -model.seed=12345                 # replay one sequence
//	go test ./store/ -run Model -model.sequences=100000 -model.time=3h -timeout=4h   # soak
var (
	modelSequences = flag.Int("model.sequences", 3000, "most sequences the model-based test plays on SQLite")
	modelTime      = flag.Duration("model.time", 25*time.Second, "most time the model-based test plays sequences for")
	modelSeed      = flag.Uint64("model.seed", 0, "play only the sequence of this seed (also $LATHE_MODEL_SEED)")
	modelBase      = flag.Uint64("model.base", 0, "the first sequence's seed (0: from the clock)")
	modelPGEvery   = flag.Int("model.pg-every", 50, "play every Nth sequence on PostgreSQL too")
	modelEvents    = flag.Int("model.events", 30, "most events of a sequence (beyond the first agents)")
)

// modelStoreCases is how many cases share one SQLite store before the next
// starts on a fresh one, so no database grows large.
const modelStoreCases = 200

func TestModel(t *testing.T) {
	seed := *modelSeed
	if env := os.Getenv("LATHE_MODEL_SEED"); env != "" && seed == 0 {
		var err error
		if seed, err = strconv.ParseUint(env, 10, 64); err != nil {
			t.Fatalf("LATHE_MODEL_SEED=%q: %v", env, err)
		}
	}
	sequences, budget := *modelSequences, *modelTime
	if testing.Short() {
		sequences, budget = min(sequences, 200), min(budget, 5*time.Second)
	}
	base := *modelBase
	if base == 0 {
		base = uint64(time.Now().UnixNano())
	}
	if seed != 0 {
		base, sequences = seed, 1
	}
	t.Logf("sequences from seed %d (replay one with -model.seed=SEED)", base)
	t.Run("sqlite", func(t *testing.T) {
		tmpl := sqliteTemplate(t)
		var env *modelEnv
		playMany(t, base, 1, sequences, budget, func() *modelEnv {
			if env == nil || env.cases >= modelStoreCases {
				env = newSQLiteEnv(t, tmpl, seed != 0)
			}
			return env
		}, func() *modelEnv { return newSQLiteEnv(t, tmpl, seed != 0) })
	})
	t.Run("postgres", func(t *testing.T) {
		every := max(*modelPGEvery, 1)
		if seed != 0 {
			every = 1
		}
		env := newModelEnv(open(t, pgtest.Shared(t).NewDatabase(t)), seed != 0)
		n := max(sequences/every, 1)
		playMany(t, base, uint64(every), n, budget/5, func() *modelEnv { return env }, func() *modelEnv { return env })
	})
}

// playMany plays up to n sequences (seeds base, base+step, …) within budget.
// current gives the store the next case plays on; fresh a store of its own
// (for replays while shrinking).
func playMany(t *testing.T, base, step uint64, n int, budget time.Duration, current, fresh func() *modelEnv) {
	ctx := t.Context()
	deadline := time.Now().Add(budget)
	known := map[string]int{} // sequences that broke each known-broken invariant
	played, steps := 0, 0
	var outcomes modelOutcomes
	for i := 0; i < n && time.Now().Before(deadline); i++ {
		c := genCase(base+uint64(i)*step, *modelEvents)
		out, err := current().play(ctx, c)
		if err != nil {
			t.Fatalf("seed %d: %v", c.Seed, err)
		}
		played, steps = played+1, steps+len(out.trace)
		for k := range outcomes {
			for r := range outcomes[k] {
				outcomes[k][r] += out.outcomes[k][r]
			}
		}
		if v := out.known; v != nil {
			if known[v.invariant]++; known[v.invariant] == 1 {
				t.Logf("known-broken invariant %s (%s) at seed %d: %v", v.invariant, modelKnownBroken[v.invariant], c.Seed, v)
			}
		}
		if out.violation == nil {
			continue
		}
		inv := out.violation.invariant
		small := shrink(ctx, fresh, c, inv)
		t.Fatalf("%s", report(ctx, fresh, small))
	}
	t.Logf("played %d sequences, %d steps in %v; known-broken invariants broken by sequences: %v\n%v",
		played, steps, time.Since(deadline.Add(-budget)).Round(time.Millisecond), known, &outcomes)
}

// report replays a (shrunk) case and says how to replay it.
func report(ctx context.Context, fresh func() *modelEnv, c modelCase) string {
	out, err := fresh().play(ctx, c)
	var b strings.Builder
	if err != nil {
		fmt.Fprintf(&b, "replay failed: %v\n", err)
	}
	if out.violation != nil {
		fmt.Fprintf(&b, "invariant %s broken\n  %s\n", out.violation.invariant, out.violation.detail)
	}
	fmt.Fprintf(&b, "seed %d (go test ./store/ -run Model -model.seed=%d replays the unshrunk sequence)\n", c.Seed, c.Seed)
	fmt.Fprintf(&b, "pipeline (first run untrusted: %v):\n%s", c.Pipeline.Untrusted, c.Pipeline.YAML())
	b.WriteString("events:\n")
	for i, line := range out.trace {
		fmt.Fprintf(&b, "  %2d. %s\n", i, line)
	}
	fmt.Fprintf(&b, "as Go: %s\n", c.goLiteral())
	return b.String()
}

// modelEnv is a store the cases play on, with its clock.
type modelEnv struct {
	s     *store.Store
	clock *clock.Manual
	cases int
	// strict stops at invariants known to be broken too (when replaying a seed).
	strict bool
}

func newModelEnv(s *store.Store, strict bool) *modelEnv {
	s.LeaseTTL = modelLeaseTTL
	return &modelEnv{s: s, clock: withClock(s), strict: strict}
}

// sqliteTemplate migrates one SQLite database whose file each store copies:
// applying the migrations takes 25 times as long as the copy.
func sqliteTemplate(t *testing.T) []byte {
	path := filepath.Join(t.TempDir(), "template.db")
	s, err := store.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func newSQLiteEnv(t *testing.T, tmpl []byte, strict bool) *modelEnv {
	path := filepath.Join(t.TempDir(), "model.db")
	if err := os.WriteFile(path, tmpl, 0o600); err != nil {
		t.Fatal(err)
	}
	return newModelEnv(open(t, path), strict)
}

// played is what one case did: the steps' descriptions and the first
// violation (nil when every invariant held).
type played struct {
	trace     []string
	violation *violation
	// known is the first violation of an invariant in modelKnownBroken.
	known *violation
	// outcomes counts the events of each kind done, refused and skipped.
	outcomes modelOutcomes
}

// modelOutcomes counts, per kind of event, those the store did, those it
// refused and those that had nothing to act on.
type modelOutcomes [numEventKinds][3]int

func (o *modelOutcomes) add(res stepResult) {
	switch {
	case res.skipped:
		o[res.kind][2]++
	case res.err != nil:
		o[res.kind][1]++
	default:
		o[res.kind][0]++
	}
}

func (o *modelOutcomes) String() string {
	var b strings.Builder
	for k, n := range o {
		fmt.Fprintf(&b, " %s %d/%d/%d", eventKind(k), n[0], n[1], n[2])
	}
	return "events done/refused/skipped:" + b.String()
}

// play plays c on the env's store: a new project, the pipeline's first
// run, then the events, checking the invariants after each.
func (e *modelEnv) play(ctx context.Context, c modelCase) (played, error) {
	var out played
	e.cases++
	d, err := newModelDriver(ctx, e.s, e.clock, fmt.Sprintf("model-%d-%d", c.Seed, e.cases), c.Pipeline.YAML())
	if err != nil {
		return out, err
	}
	defer d.retire(ctx)
	x := &modelExec{d: d, snap: &modelSnapshot{}}
	h := newModelHistory(c.Seed)
	res := stepResult{kind: evTrigger, desc: fmt.Sprintf("trigger run 0 (untrusted %v)", c.Pipeline.Untrusted)}
	if _, err := d.startRun(ctx, c.Pipeline.Untrusted, nil); err != nil {
		return out, fmt.Errorf("first run: %w", err)
	}
	for i := -1; i < len(c.Events); i++ {
		if i >= 0 {
			res = x.step(ctx, c.Events[i])
		}
		out.trace = append(out.trace, res.desc)
		out.outcomes.add(res)
		if res.skipped {
			continue // nothing reached the store
		}
		next, err := d.snapshot(ctx)
		if err != nil {
			return out, fmt.Errorf("snapshot after %s: %w", res.desc, err)
		}
		vs := h.check(x.snap, next, res)
		x.snap = next
		for _, v := range vs {
			if _, known := modelKnownBroken[v.invariant]; !known || e.strict {
				out.violation = &v
				return out, nil
			}
			if out.known == nil { // a known-broken invariant: note it and play on
				out.known = &v
			}
		}
	}
	return out, nil
}
