package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	lathe "github.com/lathe-ci/lathe"
)

// Claim long-polls for a job for up to wait seconds; it returns nil when none
// came. claimID (see lathe.ClaimIDHeader) should be new for each claim and
// the same when retrying one whose answer was lost; "" claims without it.
func (c *Client) Claim(ctx context.Context, waitSec int, claimID string) (*lathe.Assignment, error) {
	var h http.Header
	if claimID != "" {
		h = http.Header{lathe.ClaimIDHeader: {claimID}}
	}
	resp, err := c.Request(ctx, http.MethodPost, fmt.Sprintf("/api/v1/agent/claim?wait=%d", waitSec), nil, h)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNoContent {
		return nil, nil
	}
	var as lathe.Assignment
	if err := json.NewDecoder(resp.Body).Decode(&as); err != nil {
		return nil, fmt.Errorf("claim: decode assignment: %w", err)
	}
	return &as, nil
}

// Report sends a report on an attempt. A fenced attempt (the server no
// longer accepts it) gives lathe.ErrFenced.
func (c *Client) Report(ctx context.Context, attemptID int64, rep *lathe.Report) (lathe.ReportReply, error) {
	var reply lathe.ReportReply
	err := c.Do(ctx, http.MethodPost, fmt.Sprintf("/api/v1/agent/attempts/%d/report", attemptID), rep, &reply)
	if StatusOf(err) == http.StatusGone {
		fenced := lathe.ReportReply{Cancel: true, Finished: true}
		// The answer still says whether a hold keeps the workspace (a
		// resent finish whose first answer was lost learns it here).
		var sent lathe.ReportReply
		if e, ok := err.(*Error); ok && json.Unmarshal(e.body, &sent) == nil {
			fenced.HoldUntil = sent.HoldUntil
		}
		return fenced, fmt.Errorf("attempt %d: %w", attemptID, lathe.ErrFenced)
	}
	return reply, err
}
