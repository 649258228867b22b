package agent

import (
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// The job's processes never get the spool itself. They write into one pipe
// per attempt, and one goroutine copies what arrives into the spool (masked
// on the way for a job with secrets: see masking.go). A step may open its
// output again by name (`echo x > /dev/stdout`, `tee /dev/stderr`,
// `curl -o /dev/stdout`): the spool opened so would have been truncated
// (O_TRUNC), with every earlier step's lines, and a job user other than the
// agent's could not open it at all, failing the step; a pipe opened again
// is the same pipe, which O_TRUNC does not touch (the executor lets the job
// user open it: see executor/output.go). And with the spool the agent's
// alone, no process a job leaves behind can ever write into it, nor into a
// later attempt's.
//
// No byte a step wrote is lost, even when it is killed with SIGKILL: what it
// wrote is in the pipe, which the agent drains into the spool at the step's
// end, before recording where the step's log ends, and again at the job's
// end, once the job's processes are gone. A chatty step writes into a pipe
// of pipeSize where it wrote into a file, and the agent reads it in chunks
// of up to copyChunk bytes, every copyNap at the most often unless the
// output comes faster: one read and one write of the spool per chunk.

const (
	// pipeSize is the pipe's capacity asked for: room for a burst of
	// output while the copier naps or waits its turn for the CPU.
	pipeSize  = 1 << 20
	copyChunk = 256 << 10
	// copyNap is how long the copier waits after a read that did not
	// fill its chunk, so output written a line at a time is read in few
	// large chunks (a wakeup per line cost the agent more CPU than the
	// writing step); the pipe holds what comes meanwhile, and the
	// reports go every 50 ms at the most often anyway.
	copyNap = 5 * time.Millisecond
	// endOutputWait bounds how long the job's end waits for every process
	// holding the pipe to close it: only processes that escaped the job's
	// process groups can still hold it then. Their later writes fail.
	endOutputWait = 5 * time.Second
)

// stepOutput is an attempt's pipe for its processes' output. The read end
// is a bare non-blocking descriptor the copier waits on with poll(2), not
// through Go's netpoller: a pipe wakes an epoll waiter at every write, even
// one no goroutine waits on, and a step printing a line at a time then
// cost the agent's process more CPU than the step's own.
type stepOutput struct {
	w    *os.File // the write end, for the executor
	r    int      // the read end: the agent's alone, non-blocking
	stop int      // an eventfd EndOutput signals to end the copier
	buf  []byte   // guarded by the shipper's wmu
	err  error    // the first write into the spool that failed (wmu)
	done chan struct{}
}

// StartOutput makes the attempt's pipe and copies what arrives on it into
// the spool until EndOutput. The steps' processes write into the returned
// file (the executor's Spec.Log and every Step.Output).
func (s *shipper) StartOutput() (*os.File, error) {
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC|unix.O_NONBLOCK); err != nil {
		return nil, fmt.Errorf("step output pipe: %w", err)
	}
	stop, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		unix.Close(p[0])
		unix.Close(p[1])
		return nil, fmt.Errorf("step output pipe: %w", err)
	}
	// The write end blocks: the steps share that open file, and a shell
	// must not meet EAGAIN when the pipe is full.
	unix.SetNonblock(p[1], false)
	unix.FcntlInt(uintptr(p[1]), unix.F_SETPIPE_SZ, pipeSize) // the default 64 KiB works too, slower
	o := &stepOutput{w: os.NewFile(uintptr(p[1]), "|1"), r: p[0], stop: stop, buf: make([]byte, copyChunk), done: make(chan struct{})}
	s.output = o
	go s.copyOutput(o)
	return o.w, nil
}

// copyOutput copies what arrives on the pipe into the spool until every
// writer has closed it, or EndOutput stops it. Each read and the write of
// what it read happen under wmu, so once DrainOutput has taken its turn,
// every byte written into the pipe before is in the spool.
func (s *shipper) copyOutput(o *stepOutput) {
	defer close(o.done)
	fds := []unix.PollFd{{Fd: int32(o.r), Events: unix.POLLIN}, {Fd: int32(o.stop), Events: unix.POLLIN}}
	for {
		if _, err := unix.Poll(fds, -1); err != nil && err != unix.EINTR {
			return
		}
		if fds[1].Revents != 0 {
			return // EndOutput drained the pipe
		}
		s.wmu.Lock()
		n, err := s.readOutput(o, len(o.buf))
		s.wmu.Unlock()
		switch {
		case err == unix.EAGAIN || err == unix.EINTR:
			continue // DrainOutput took it first
		case err != nil || n == 0:
			return // every writer is gone
		}
		s.wake()
		if n < len(o.buf) {
			time.Sleep(copyNap)
		}
	}
}

// readOutput reads up to limit bytes from the pipe into the spool; call it
// with wmu held.
func (s *shipper) readOutput(o *stepOutput, limit int) (int, error) {
	n, err := unix.Read(o.r, o.buf[:min(limit, len(o.buf))])
	if n > 0 {
		s.midLine = o.buf[n-1] != '\n'
		// A full disk: the step's output is lost, as a write of the
		// step's own into the spool would have failed.
		if _, werr := s.writeLocked(o.buf[:n]); werr != nil && o.err == nil {
			o.err = fmt.Errorf("copy the steps' output into the spool: %w", werr)
		}
	}
	return max(n, 0), err
}

// DrainOutput copies into the spool everything the step's processes have
// written into the pipe so far; call it when a step has ended, before
// reading Offset. A step's output that did not end its last line gets a
// newline. A masked log passes on what the masker held back too: no
// secret spans steps.
func (s *shipper) DrainOutput() {
	o := s.output
	if o == nil {
		return
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	// What is in the pipe now, and no more: a process still writing in
	// the background cannot keep the step from ending.
	left, err := unix.IoctlGetInt(o.r, unix.TIOCINQ) // FIONREAD
	for err == nil && left > 0 {
		var n int
		if n, err = s.readOutput(o, left); n == 0 {
			break
		}
		left -= n
	}
	s.endLineLocked() // the step's log ends its last line
	if s.mask != nil {
		s.mask.Flush()
	}
	s.wake()
}

// EndOutput copies what is left in the pipe into the spool once the job's
// processes have ended, and ends the copying; call it before Finish. It
// says whether any of the job's output could not be written.
func (s *shipper) EndOutput() error {
	var err error
	if o := s.output; o != nil {
		o.w.Close()
		t := time.NewTimer(endOutputWait)
		select {
		case <-o.done:
		case <-t.C:
			// A process that escaped the job still holds the pipe.
			s.DrainOutput()
			unix.Write(o.stop, []byte{1, 0, 0, 0, 0, 0, 0, 0})
			<-o.done
		}
		t.Stop()
		unix.Close(o.r)
		unix.Close(o.stop)
		err = o.err
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.mask != nil {
		err = errors.Join(err, s.mask.Close())
	}
	return err
}

// StepOutput is the file a step's processes write to, and the function to
// call when the step has ended: once it has returned, the step's output is
// in the spool.
func (s *shipper) StepOutput() (out *os.File, end func(), err error) {
	if s.output == nil {
		return nil, nil, errors.New("step output: no pipe (StartOutput)")
	}
	return s.output.w, s.DrainOutput, nil
}

// outputEnded reports whether nothing copies into the spool any more.
func (s *shipper) outputEnded() bool {
	if s.output == nil {
		return true
	}
	select {
	case <-s.output.done:
		return true
	default:
		return false
	}
}
