package dispatch

import (
	"context"

	lathe "github.com/lathe-ci/lathe"
)

// maxWorkspace bounds the workspace path a finishing attempt reports.
const maxWorkspace = 4096

// Report takes the acting agent's report on one of its attempts: a log
// chunk to append at rep.LogOffset, a renewal of the attempt's lease, and
// maybe its finish (or hand-back, with an infrastructure reason); it
// records the agent as seen. An attempt that is no longer current answers
// lathe.ErrFenced, with the reply the agent acts on (stop).
func (s *Service) Report(ctx context.Context, a Actor, attemptID int64, rep *lathe.Report) (lathe.ReportReply, error) {
	if err := a.requireAgent(); err != nil {
		return lathe.ReportReply{}, err
	}
	if err := checkReport(rep); err != nil {
		return lathe.ReportReply{}, err
	}
	// An agent busy with its jobs asks for no work, and its reports are all
	// the server hears of it: without this it would look offline a minute
	// into a long job, and the jobs queued behind it would wait for "no
	// online agent" (and fail at the queue timeout) while it is busy.
	if err := s.store.TouchAgent(ctx, a.Agent.ID); err != nil {
		return lathe.ReportReply{}, err
	}
	return s.store.Report(ctx, a.Agent.ID, attemptID, rep)
}

func checkReport(rep *lathe.Report) error {
	if rep.LogOffset < 0 {
		return invalidf("log_offset: must not be negative")
	}
	if rep.Finish == nil {
		return nil
	}
	if len(rep.Finish.Workspace) > maxWorkspace {
		return invalidf("finish.workspace: at most %d characters", maxWorkspace)
	}
	if rep.Finish.Reason != "" {
		if err := lathe.CheckInfraReason(rep.Finish.Reason); err != nil {
			return invalidf("finish.reason: %v", err)
		}
	}
	return nil
}
