package secret

import (
	"bytes"
	"errors"
	"io"

	lathe "github.com/lathe-ci/lathe"
)

// Mask is what a masked secret is replaced with.
const Mask = "***"

// Masks is a compiled set of secret values to mask (every form of each,
// see Forms). It is immutable and safe for concurrent use; build it once
// per job and make a Masker per output stream.
type Masks struct {
	m *matcher
}

// NewMasks compiles the forms of values. Empty values are ignored.
func NewMasks(values []string) *Masks {
	var forms []string
	seen := map[string]bool{}
	for _, v := range values {
		for _, f := range Forms(v) {
			if !seen[f] {
				seen[f] = true
				forms = append(forms, f)
			}
		}
	}
	if len(forms) == 0 {
		return &Masks{}
	}
	return &Masks{m: compile(forms)}
}

// VarMasks compiles the values of a job's secrets, as an agent gets them
// and lathe exec reads them (nil without any).
func VarMasks(vars []lathe.EnvVar) *Masks {
	if len(vars) == 0 {
		return nil
	}
	values := make([]string, len(vars))
	for i, v := range vars {
		values[i] = v.Value
	}
	return NewMasks(values)
}

// Empty reports whether there is nothing to mask.
func (ms *Masks) Empty() bool { return ms == nil || ms.m == nil }

// Writer returns a Masker writing the masked stream to w.
func (ms *Masks) Writer(w io.Writer) *Masker { return &Masker{w: w, m: ms.m} }

// Bytes masks a whole input at once.
func (ms *Masks) Bytes(b []byte) []byte {
	if ms.Empty() {
		return b
	}
	var buf bytes.Buffer
	mw := ms.Writer(&buf)
	mw.Write(b)
	mw.Close()
	return buf.Bytes()
}

// String masks a whole string at once (for messages that may echo a value).
func (ms *Masks) String(s string) string {
	if ms.Empty() {
		return s
	}
	return string(ms.Bytes([]byte(s)))
}

// Masker is an io.WriteCloser that replaces every occurrence of a secret's
// forms with Mask before the bytes reach the underlying writer, however
// the stream is split across writes. Overlapping occurrences become one
// Mask. It holds back only bytes that may still be the start of an
// occurrence (at most the longest form, plus an occurrence that may still
// grow), writes the rest at once, and writes what it holds on Flush and
// Close. The masked output of a stream does not depend on how it was split
// into writes. A Masker is not safe for concurrent use.
type Masker struct {
	w io.Writer
	m *matcher

	state   int32
	pos     int64    // bytes written to the masker so far
	held    []byte   // the stream's bytes [pos-len(held), pos), not yet passed on
	regions []region // occurrences (merged when they overlap) not yet passed on, in order
	out     []byte   // scratch for what goes to w
	err     error
	closed  bool
}

type region struct{ start, end int64 }

var errClosed = errors.New("secret: write to a closed masker")

// Write masks p and passes on all it can. It returns len(p) unless the
// underlying writer fails.
func (mk *Masker) Write(p []byte) (int, error) {
	if mk.closed {
		return 0, errClosed
	}
	if mk.err != nil {
		return 0, mk.err
	}
	if mk.m == nil {
		return mk.w.Write(p)
	}
	m := mk.m
	delta, class, cell, first := m.delta, &m.class, m.width-1, m.firstMatch
	st := mk.state
	base := mk.pos + 1
	for i, b := range p {
		st = delta[st+class[b]]
		if st >= first {
			end := base + int64(i)
			mk.add(end-int64(delta[st+cell]), end)
		}
	}
	mk.state = st
	start := mk.pos
	mk.pos += int64(len(p))
	boundary := mk.pos - int64(m.depth[st/m.width])
	if len(mk.held) == 0 && len(mk.regions) == 0 {
		// Nothing held and nothing found: pass p on without copying it.
		n := boundary - start
		if n > 0 {
			if _, err := mk.w.Write(p[:n]); err != nil {
				mk.err = err
				return 0, err
			}
		}
		mk.held = append(mk.held, p[n:]...)
		return len(p), nil
	}
	mk.held = append(mk.held, p...)
	if err := mk.emit(boundary); err != nil {
		return 0, err
	}
	return len(p), nil
}

// add records the occurrence [start, end), merging it with the pending
// regions it overlaps. Those are a suffix of the list (regions are
// disjoint and ordered, and end is the furthest end yet).
func (mk *Masker) add(start, end int64) {
	i := len(mk.regions)
	for i > 0 && mk.regions[i-1].end > start {
		i--
		start = min(start, mk.regions[i].start)
	}
	mk.regions = append(mk.regions[:i], region{start, end})
}

// emit passes on the held bytes before boundary, masking finished regions;
// a region that reaches past boundary may still grow, so it and what
// follows stay held.
func (mk *Masker) emit(boundary int64) error {
	from := mk.pos - int64(len(mk.held)) // stream position of held[0]
	cur := from
	out := mk.out[:0]
	done := 0
	for _, r := range mk.regions {
		if r.start >= boundary {
			break
		}
		if r.end > boundary {
			boundary = r.start
			break
		}
		out = append(out, mk.held[cur-from:r.start-from]...)
		out = append(out, Mask...)
		cur = r.end
		done++
	}
	mk.regions = mk.regions[:copy(mk.regions, mk.regions[done:])]
	if boundary > cur {
		out = append(out, mk.held[cur-from:boundary-from]...)
		cur = boundary
	}
	if cur > from {
		mk.held = mk.held[:copy(mk.held, mk.held[cur-from:])]
	}
	mk.out = out[:0]
	if len(out) > 0 {
		if _, err := mk.w.Write(out); err != nil {
			mk.err = err
			return err
		}
	}
	return nil
}

// Flush passes on everything held, as if the stream ended here: no
// occurrence spans a Flush. Use it where the output must be complete (the
// end of a step).
func (mk *Masker) Flush() error {
	if mk.err != nil || mk.closed {
		return mk.err
	}
	if mk.m == nil {
		return nil
	}
	err := mk.emit(mk.pos)
	mk.state = 0
	return err
}

// Close flushes the masker. It does not close the underlying writer.
func (mk *Masker) Close() error {
	if mk.closed {
		return mk.err
	}
	err := mk.Flush()
	mk.closed = true
	return err
}
