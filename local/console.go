package local

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/lathe-ci/lathe/secret"
)

// console is the one writer every job prints to. It writes whole lines under
// a lock, so the lines of jobs running at the same time never mix mid-line.
type console struct {
	mu    sync.Mutex
	w     io.Writer
	color bool
	// width is the longest job name, so that prefixes line up.
	width int
}

// ANSI colors: job prefixes cycle through the palette; statuses have their
// own, so a red or green prefix is never mistaken for a result.
const (
	reset  = "\x1b[0m"
	bold   = "\x1b[1m"
	dim    = "\x1b[2m"
	red    = "\x1b[31m"
	green  = "\x1b[32m"
	yellow = "\x1b[33m"
)

var palette = []string{"\x1b[36m", "\x1b[35m", "\x1b[34m", "\x1b[96m", "\x1b[95m", "\x1b[94m"}

// paint wraps s in code when colors are on.
func (c *console) paint(code, s string) string {
	if !c.color {
		return s
	}
	return code + s + reset
}

// prefix is what starts every line of the i-th job: "[name] " padded to the
// longest name.
func (c *console) prefix(name string, i int) string {
	tag := "[" + name + "]"
	pad := strings.Repeat(" ", max(c.width-len(name), 0)+1)
	return c.paint(palette[i%len(palette)], tag) + pad
}

// write writes b in one call under the lock.
func (c *console) write(b []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.w.Write(b)
}

// printf writes one formatted line (a newline is added).
func (c *console) printf(format string, args ...any) {
	c.write([]byte(fmt.Sprintf(format, args...) + "\n"))
}

// maxLine bounds how much of a line without a newline is held back; a
// longer run of bytes is printed as a line of its own.
const maxLine = 64 << 10

// drainWait bounds how long a finished job's output may keep arriving: a
// process that escaped the step's process group can hold the pipe open.
const drainWait = 2 * time.Second

// jobLog carries one job's output from its processes to the console. The
// steps write to the pipe's write end directly (as they would to the
// agent's log file), and one goroutine prefixes each complete line.
type jobLog struct {
	// W is given to every step as its stdout and stderr; headers written
	// to it stay in order with the steps' own output.
	W    *os.File
	r    *os.File
	done chan struct{}
}

// openLog starts copying a job's output to the console with prefix,
// masking the job's secrets (masks) as an agent masks its log.
func (c *console) openLog(prefix string, masks *secret.Masks) (*jobLog, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("job output pipe: %w", err)
	}
	l := &jobLog{W: w, r: r, done: make(chan struct{})}
	go func() {
		defer close(l.done)
		c.copyLines(r, prefix, masks)
	}()
	return l, nil
}

// close ends the job's output: once every process holding the pipe has
// exited (or drainWait has passed) the rest is printed and the copier stops.
func (l *jobLog) close() {
	l.W.Close()
	t := time.NewTimer(drainWait)
	defer t.Stop()
	select {
	case <-l.done:
	case <-t.C:
	}
	l.r.Close() // unblocks the copier's Read if a stray process holds the pipe
	<-l.done
}

// headerMark starts each line the runner writes into a job's pipe (step
// headers). The copier drops it, first ending the line when a step's output
// stopped mid-line, so a header never trails a prompt left without a
// newline. It is the ASCII record separator, which no one prints.
const headerMark = '\x1e'

// copyLines reads r until it ends and prints each line with prefix, with
// every secret's forms masked; every read's complete lines go out in a
// single write.
func (c *console) copyLines(r io.Reader, prefix string, masks *secret.Masks) {
	lw := &lineWriter{c: c, prefix: prefix, atLineStart: true}
	var w io.Writer = lw
	var mw *secret.Masker
	if !masks.Empty() {
		mw = masks.Writer(lw)
		w = mw
	}
	buf := make([]byte, 32<<10)
	for {
		n, err := r.Read(buf)
		w.Write(buf[:n])
		if err != nil {
			break
		}
	}
	if mw != nil {
		mw.Close() // passes on what it held back
	}
	lw.end()
}

// lineWriter prints the complete lines written to it with a prefix (see
// copyLines), each write's lines in one write to the console.
type lineWriter struct {
	c              *console
	prefix         string
	pending, batch []byte
	atLineStart    bool
}

func (l *lineWriter) Write(p []byte) (int, error) {
	for _, b := range p {
		switch {
		case b == headerMark && l.atLineStart:
			continue
		case b == headerMark:
			b = '\n'
		}
		l.pending = append(l.pending, b)
		l.atLineStart = b == '\n'
	}
	l.batch = l.batch[:0]
	for {
		i := bytes.IndexByte(l.pending, '\n')
		switch {
		case i >= 0:
			l.batch = append(append(l.batch, l.prefix...), l.pending[:i+1]...)
			l.pending = l.pending[i+1:]
			continue
		case len(l.pending) >= maxLine:
			l.batch = append(append(append(l.batch, l.prefix...), l.pending[:maxLine]...), '\n')
			l.pending = l.pending[maxLine:]
			continue
		}
		break
	}
	if len(l.batch) > 0 {
		l.c.write(l.batch)
	}
	return len(p), nil
}

// end prints the last line, which did not end.
func (l *lineWriter) end() {
	if len(l.pending) > 0 {
		l.c.write(append(append([]byte(l.prefix), l.pending...), '\n'))
	}
}
