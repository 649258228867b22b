package api

import (
	"bytes"
	"net/http"
	"regexp"
	"sort"
	"strings"

	lathe "github.com/lathe-ci/lathe"
)

// A log read as lines (Kraken's job and step logs): paged by line, first
// or last lines first, and filtered by text. The bytes stay the plain
// log's; this view counts and selects lines and gives each its number, its
// offset and the time it reached the server.

// maxLineText bounds the text a line carries; a longer one is cut.
const maxLineText = 64 << 10

// logReadChunk is how much of the log one read takes.
const logReadChunk = 4 << 20

// lineFilter selects lines: by text (case-insensitive), or by regexp.
type lineFilter struct {
	text string
	re   *regexp.Regexp
}

func (f lineFilter) match(line []byte) bool {
	switch {
	case f.re != nil:
		return f.re.Match(line)
	case f.text != "":
		return bytes.Contains(bytes.ToLower(line), []byte(f.text))
	}
	return true
}

// getLogLines serves a window of a job's log as lines.
func (s *Server) getLogLines(w http.ResponseWriter, r *http.Request) error {
	job, a, err := s.logAttempt(r)
	if err != nil {
		return err
	}
	start, err := queryInt(r, "start", 0, 0, 1<<40)
	if err != nil {
		return err
	}
	limit, err := queryInt(r, "limit", 100, 1, 10_000)
	if err != nil {
		return err
	}
	step, err := queryInt(r, "step", -1, 0, 1<<20)
	if err != nil {
		return err
	}
	desc := false
	switch o := queryValue(r, "order"); o {
	case "", "asc":
	case "desc":
		desc = true
	default:
		return problemf(http.StatusBadRequest, "order: %q is not asc or desc", o)
	}
	var f lineFilter
	text, expr := queryValue(r, "filter"), queryValue(r, "regexp")
	switch {
	case text != "" && expr != "":
		return problemf(http.StatusBadRequest, "filter and regexp: give one, not both")
	case expr != "":
		if f.re, err = regexp.Compile(expr); err != nil {
			return problemf(http.StatusBadRequest, "regexp: %v", err)
		}
	default:
		f.text = strings.ToLower(text)
	}
	out := lathe.LogLines{Items: []lathe.LogLine{}, Complete: job.Status.Terminal()}
	if a == nil {
		if step > 0 {
			return problemf(http.StatusNotFound, "job %d has not started: it has no step %d yet", job.ID, step)
		}
		return respond(w, http.StatusOK, out, nil)
	}
	win, err := stepWindow(job, a, step)
	if err != nil {
		return err
	}
	out.Attempt, out.Complete = a.Number, win.final(a)
	size := win.size(a)
	read := func(off, n int64) ([]byte, error) {
		data, _, err := s.readWindow(r, a, win, off, n)
		return data, err
	}
	// The matches to keep are [first, first+limit) counted from the first
	// match: from the last one, counting down, for desc, which needs the
	// total first.
	first := start
	if desc {
		if out.Lines, out.Total, err = scanLines(read, size, f, nil); err != nil {
			return err
		}
		first = max(out.Total-start-limit, 0)
		limit = max(min(limit, out.Total-start), 0)
	}
	var n int64
	out.Lines, out.Total, err = scanLines(read, size, f, func(l lathe.LogLine) {
		if n >= first && n < first+limit {
			out.Items = append(out.Items, l)
		}
		n++
	})
	if err != nil {
		return err
	}
	if desc {
		for i, j := 0, len(out.Items)-1; i < j; i, j = i+1, j-1 {
			out.Items[i], out.Items[j] = out.Items[j], out.Items[i]
		}
	}
	if next := start + int64(len(out.Items)); len(out.Items) > 0 && next < out.Total {
		out.Next = &next
	}
	if err := s.timeLines(r, a, win, out.Items); err != nil {
		return err
	}
	return respond(w, http.StatusOK, out, nil)
}

// scanLines reads size bytes of a window through read and calls keep, when
// set, with each line f selects, in order; it counts all lines and the
// selected ones. A last line without its newline counts too.
func scanLines(read func(off, n int64) ([]byte, error), size int64, f lineFilter, keep func(lathe.LogLine)) (lines, selected int64, err error) {
	var carry []byte  // the start of a line that a read cut
	var carryAt int64 // its offset
	emit := func(line []byte, at int64) {
		lines++
		if !f.match(line) {
			return
		}
		selected++
		if keep != nil {
			text := line
			if len(text) > maxLineText {
				text = text[:maxLineText]
			}
			keep(lathe.LogLine{Number: lines, Offset: at, Text: strings.ToValidUTF8(string(text), "\uFFFD")})
		}
	}
	for off := int64(0); off < size; {
		data, err := read(off, min(logReadChunk, size-off))
		if err != nil {
			return 0, 0, err
		}
		if len(data) == 0 {
			break // the log is shorter than the attempt said: read what there is
		}
		pos := 0
		for pos < len(data) {
			end := bytes.IndexByte(data[pos:], '\n')
			if end < 0 {
				if len(carry) == 0 {
					carryAt = off + int64(pos)
				}
				if room := maxLineText + 1 - len(carry); room > 0 {
					carry = append(carry, data[pos:pos+min(room, len(data)-pos)]...)
				}
				break
			}
			line, at := data[pos:pos+end], off+int64(pos)
			if len(carry) > 0 {
				line, at = append(carry, line...), carryAt
				carry = carry[:0]
			}
			emit(line, at)
			pos += end + 1
		}
		off += int64(len(data))
	}
	if len(carry) > 0 {
		emit(carry, carryAt)
	}
	return lines, selected, nil
}

// timeLines gives each line the time its first byte reached the server.
func (s *Server) timeLines(r *http.Request, a *lathe.Attempt, win logWindow, items []lathe.LogLine) error {
	if len(items) == 0 {
		return nil
	}
	lo, hi := items[0].Offset, items[0].Offset
	for _, l := range items {
		lo, hi = min(lo, l.Offset), max(hi, l.Offset)
	}
	arrivals, err := s.store.LogArrivals(r.Context(), a.ID, win.start+lo, win.start+hi+1)
	if err != nil {
		return err
	}
	for i := range items {
		off := win.start + items[i].Offset
		// The chunk holding the line's first byte: the last one starting at or before it.
		k := sort.Search(len(arrivals), func(k int) bool { return arrivals[k].Offset > off }) - 1
		if k >= 0 && !arrivals[k].At.IsZero() {
			t := arrivals[k].At.UTC()
			items[i].Time = &t
		}
	}
	return nil
}
