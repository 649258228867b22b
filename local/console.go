package local

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
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

// openLog starts copying a job's output to the console with prefix.
func (c *console) openLog(prefix string) (*jobLog, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("job output pipe: %w", err)
	}
	l := &jobLog{W: w, r: r, done: make(chan struct{})}
	go func() {
		defer close(l.done)
		c.copyLines(r, prefix)
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

// copyLines reads r until it ends and prints each line with prefix; every
// read's complete lines go out in a single write.
func (c *console) copyLines(r io.Reader, prefix string) {
	buf := make([]byte, 32<<10)
	var pending, batch []byte
	atLineStart := true
	for {
		n, err := r.Read(buf)
		for _, b := range buf[:n] {
			switch {
			case b == headerMark && atLineStart:
				continue
			case b == headerMark:
				b = '\n'
			}
			pending = append(pending, b)
			atLineStart = b == '\n'
		}
		batch = batch[:0]
	lines:
		for {
			i := bytes.IndexByte(pending, '\n')
			switch {
			case i >= 0:
				batch = append(append(batch, prefix...), pending[:i+1]...)
				pending = pending[i+1:]
			case len(pending) >= maxLine:
				batch = append(append(append(batch, prefix...), pending[:maxLine]...), '\n')
				pending = pending[maxLine:]
			default:
				break lines
			}
		}
		if len(batch) > 0 {
			c.write(batch)
		}
		if err != nil {
			break
		}
	}
	if len(pending) > 0 {
		c.write(append(append([]byte(prefix), pending...), '\n'))
	}
}
