package agent

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/client"
	"github.com/lathe-ci/lathe/internal/retry"
	"github.com/lathe-ci/lathe/secret"
)

// maxReportLog bounds the log bytes in one report.
const maxReportLog = 4 << 20

// reportGap is the least time between two reports (a finish goes at once),
// and how often the spool is checked for new output. Batching this way turns
// a flood of output or of short steps into a few requests, leaving the CPU to
// the job, while logs still look live. While output keeps coming, the gap
// doubles after each report up to maxReportGap; output after a quiet spell
// goes at once, and a full report's worth without waiting.
// The first report of an attempt waits the longest gap: a job that ends
// within it (most short jobs, on a loaded machine too) reports once.
const (
	reportGap      = 50 * time.Millisecond
	maxReportGap   = 250 * time.Millisecond
	firstReportGap = maxReportGap
)

// reportAnswerTimeout bounds waiting for the answer to a report, plus a second
// per 64 KiB of log it carries; a third of the lease at most (see
// leaseWatch.answerTimeout).
const reportAnswerTimeout = 20 * time.Second

// shipper is an attempt's outbox. The attempt's log is a spool file on the
// agent's disk: the agent copies the steps' output into it from their pipe
// (see step_output.go), and writes its own lines there. One loop tails the
// spool and sends whatever is new, with the latest step states, in a single
// report; the server answers with how many bytes it holds, and the next
// report resends from there. Nothing leaves the spool until the server has
// acknowledged it.
type shipper struct {
	c         *client.Client
	attemptID int64
	heartbeat time.Duration
	log       *slog.Logger
	onCancel  func() // called once when the server asks to stop the attempt
	spool     *os.File
	// spare is where Close leaves the spool, emptied, for the next attempt
	// (empty: Close deletes it).
	spare string
	// lease, when set, hears of every report the server answered.
	lease *leaseWatch
	// output is the steps' pipe, once StartOutput made it.
	output *stepOutput

	// wmu serializes the writes into the spool: the agent's lines and
	// the steps' output copied from their pipe.
	wmu sync.Mutex
	// mask, set for a job with secrets, masks them on the way into the
	// spool (guarded by wmu).
	mask *secret.Masker
	// midLine says the steps' output copied last into the spool did not
	// end its line (guarded by wmu): the agent's next line starts a new one.
	midLine bool

	mu     sync.Mutex
	acked  int64 // bytes the server holds
	steps  map[int]lathe.StepReport
	finish *lathe.FinishReport
	reason string // an infrastructure failure, sent with the finish (see setReason)
	done   bool   // the server stored the finish (or fenced the attempt)
	// holdUntil is set when the server asks to keep the workspace (autohold).
	holdUntil *time.Time
	// claimID, when set, goes with the finish to claim the agent's next
	// job (see claimNext); claimSent says it went out at least once, and
	// next is the job the server claimed with it.
	claimID   string
	claimSent bool
	next      *lathe.Assignment

	kick       chan struct{}
	finishKick chan struct{} // wakes a paced wait when the finish arrives
	finished   chan struct{}
	canceled   sync.Once
}

// newShipper creates the attempt's spool file at path, from the empty file
// spare when there is one (see Close).
func newShipper(c *client.Client, attemptID int64, path, spare string, heartbeat time.Duration, log *slog.Logger, onCancel func()) (*shipper, error) {
	f, err := openSpool(path, spare)
	if err != nil {
		return nil, fmt.Errorf("log spool: %w", err)
	}
	return &shipper{
		c: c, attemptID: attemptID, heartbeat: heartbeat, log: log, onCancel: onCancel, spool: f, spare: spare,
		steps: map[int]lathe.StepReport{}, kick: make(chan struct{}, 1), finishKick: make(chan struct{}, 1),
		finished: make(chan struct{}),
	}, nil
}

// Write appends the agent's own log lines to the spool, each on a line of
// its own (see endLineLocked).
func (s *shipper) Write(p []byte) (int, error) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if len(p) > 0 {
		if err := s.endLineLocked(); err != nil {
			return 0, err
		}
	}
	if s.mask == nil {
		return s.writeLocked(p)
	}
	if _, err := s.writeLocked(p); err != nil {
		return 0, err
	}
	return len(p), s.mask.Flush()
}

// endLineLocked ends the line the steps' output left open (`printf done`),
// so the agent's next line (a step's header) does not stick to it; call it
// with wmu held.
func (s *shipper) endLineLocked() error {
	if !s.midLine {
		return nil
	}
	s.midLine = false
	_, err := s.writeLocked([]byte{'\n'})
	return err
}

// writeLocked appends p to the spool, through the masker when there is
// one; call it with wmu held.
func (s *shipper) writeLocked(p []byte) (int, error) {
	if s.mask != nil {
		return s.mask.Write(p)
	}
	n, err := s.spool.Write(p)
	s.wake()
	return n, err
}

// Offset is the log size so far (where the next byte will go).
func (s *shipper) Offset() int64 {
	fi, err := s.spool.Stat()
	if err != nil {
		return 0
	}
	return fi.Size()
}

// Step records a step's latest state.
func (s *shipper) Step(st lathe.StepReport) {
	s.mu.Lock()
	s.steps[st.Index] = st
	s.mu.Unlock()
	s.wake()
}

// Finish records the attempt's result; Run returns once the server has it.
// Call it after every process that could write to the spool has ended.
// workspace, when set, tells the server where the workspace is, should a
// hold want it kept.
func (s *shipper) Finish(status lathe.Status, workspace string) {
	size := s.Offset()
	// The checksum of the whole spool lets the server tell a stored log
	// that differs from what was written.
	sum := ""
	h := sha256.New()
	if _, err := io.Copy(h, io.NewSectionReader(s.spool, 0, size)); err == nil {
		sum = hex.EncodeToString(h.Sum(nil))
	} else {
		s.log.Warn("cannot hash log spool; finishing without a checksum", "err", err)
	}
	s.mu.Lock()
	s.finish = &lathe.FinishReport{Status: status, LogSize: size, SHA256: sum, Workspace: workspace, Reason: s.reason}
	s.mu.Unlock()
	s.wake()
	select {
	case s.finishKick <- struct{}{}:
	default:
	}
}

// setReason records that the attempt failed for the infrastructure (see
// lathe.FinishReport.Reason); call it before Finish.
func (s *shipper) setReason(reason string) {
	s.mu.Lock()
	s.reason = reason
	s.mu.Unlock()
}

func (s *shipper) finishing() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.finish != nil
}

func (s *shipper) wake() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// Run sends reports until the finish is acknowledged or ctx ends: when
// something is pending (checked every reportGap), and every heartbeat
// interval regardless.
func (s *shipper) Run(ctx context.Context) {
	defer close(s.finished)
	beat := time.NewTicker(s.heartbeat)
	defer beat.Stop()
	poll := time.NewTicker(reportGap)
	defer poll.Stop()
	backoff := retry.Backoff{Base: 50 * time.Millisecond, Cap: s.lease.retryCap()}
	// The claim told the server the attempt started: the first report can
	// wait firstReportGap, so a short job's lines, step states and result
	// travel together in one report (its finish) instead of two or three.
	last := time.Now()
	gap, more := firstReportGap, false
	for {
		if wait := gap - time.Since(last); wait > 0 && !more && !s.finishing() {
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-s.finishKick:
			case <-ctx.Done():
				t.Stop()
				return
			}
			t.Stop()
		}
		if time.Since(last) > 2*gap {
			gap = reportGap // a quiet spell: the next output goes quickly again
		} else {
			gap = min(2*gap, maxReportGap)
		}
		last = time.Now()
		var err error
		more, err = s.send(ctx)
		switch {
		case err == nil:
			backoff.Reset()
		case errors.Is(err, lathe.ErrFenced):
		default:
			if ctx.Err() != nil {
				return
			}
			wait := backoff.Next()
			s.log.Warn("report failed; retrying", "in", wait, "err", err)
			if retry.Sleep(ctx, wait) != nil {
				return
			}
			continue
		}
		if s.isDone() {
			return
		}
		if more {
			continue
		}
		for waiting := true; waiting; {
			select {
			case <-s.kick:
				waiting = false
			case <-beat.C:
				waiting = false
			case <-poll.C:
				waiting = !s.pending()
			case <-ctx.Done():
				return
			}
		}
	}
}

// HoldUntil is until when the server asked to keep the workspace, or nil.
func (s *shipper) HoldUntil() *time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.holdUntil
}

func (s *shipper) isDone() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.done
}

// pending reports whether the spool holds bytes the server has not acknowledged.
func (s *shipper) pending() bool {
	size := s.Offset()
	s.mu.Lock()
	defer s.mu.Unlock()
	return size > s.acked
}

// send builds one report from everything pending and applies the reply. It
// reports whether more is pending already (a full report's worth of log).
func (s *shipper) send(ctx context.Context) (bool, error) {
	size := s.Offset()
	s.mu.Lock()
	rep := &lathe.Report{LogOffset: s.acked}
	n := min(size-s.acked, maxReportLog)
	for _, st := range s.steps {
		rep.Steps = append(rep.Steps, st)
	}
	sentSteps := s.steps
	s.steps = map[int]lathe.StepReport{}
	if s.finish != nil && s.acked+n == s.finish.LogSize {
		rep.Finish = s.finish
	}
	s.mu.Unlock()
	if n > 0 {
		rep.Log = make([]byte, n)
		if _, err := s.spool.ReadAt(rep.Log, rep.LogOffset); err != nil {
			return false, fmt.Errorf("read log spool: %w", err)
		}
	}

	// A server that stops answering mid-report is given up on in bounded
	// time, and the report sent again (to another replica when there is
	// one): it is idempotent, so whether the first one was applied or not,
	// no log byte is lost or stored twice.
	rctx, cancel := context.WithTimeout(ctx, s.lease.answerTimeout()+time.Duration(len(rep.Log)>>16)*time.Second)
	claimID, first := s.claimWith(rep)
	sent := time.Now()
	reply, err := s.c.ReportClaiming(rctx, s.attemptID, rep, claimID, first)
	cancel()
	if renewsLease(err) {
		s.lease.Heard(sent)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if reply.HoldUntil != nil {
		s.holdUntil = reply.HoldUntil
	}
	if reply.Next != nil {
		s.next = reply.Next
	}
	if errors.Is(err, lathe.ErrFenced) {
		s.done = true
		s.requestCancel()
		return false, err
	}
	if err != nil {
		// Put the steps back unless newer states replaced them meanwhile.
		for i, st := range sentSteps {
			if _, ok := s.steps[i]; !ok {
				s.steps[i] = st
			}
		}
		return false, err
	}
	if reply.LogSize > s.acked && reply.LogSize <= size {
		s.acked = reply.LogSize
	}
	if reply.Finished {
		s.done = true
		s.finish = nil
	}
	if reply.Cancel {
		s.requestCancel()
	}
	return s.acked < size || s.finish != nil && rep.Finish == nil, nil
}

// claimNext makes the finish claim the agent's next job with claimID
// (first: the ID was never sent); call it before Finish.
func (s *shipper) claimNext(claimID string, first bool) {
	s.mu.Lock()
	s.claimID, s.claimSent = claimID, !first
	s.mu.Unlock()
}

// claimWith is the claim ID the report rep carries ("" for none) and
// whether it goes out for the first time; it notes that it went.
func (s *shipper) claimWith(rep *lathe.Report) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rep.Finish == nil || s.claimID == "" {
		return "", false
	}
	first := !s.claimSent
	s.claimSent = true
	return s.claimID, first
}

// nextClaimed is the job the finish claimed (nil: none) and whether the
// claim ID went out, so a claim that follows must reuse it.
func (s *shipper) nextClaimed() (*lathe.Assignment, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.next, s.claimSent
}

func (s *shipper) requestCancel() {
	s.canceled.Do(func() { go s.onCancel() })
}
