package client

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"

	lathe "github.com/lathe-ci/lathe"
)

// Claim long-polls for a job for up to wait seconds; it returns nil when none
// came. claimID (see lathe.ClaimIDHeader) should be new for each claim and
// the same when retrying one whose answer was lost; "" claims without it.
func (c *Client) Claim(ctx context.Context, waitSec int, claimID string) (*lathe.Assignment, error) {
	return c.claim(ctx, waitSec, claimID, false)
}

// ClaimNew is Claim with a claim ID never sent before, which it says
// (lathe.ClaimNewHeader): the server need not look for an attempt made
// with it. A retry of the claim goes through Claim.
func (c *Client) ClaimNew(ctx context.Context, waitSec int, claimID string) (*lathe.Assignment, error) {
	return c.claim(ctx, waitSec, claimID, true)
}

func (c *Client) claim(ctx context.Context, waitSec int, claimID string, first bool) (*lathe.Assignment, error) {
	resp, err := c.Request(ctx, http.MethodPost, fmt.Sprintf("/api/v1/agent/claim?wait=%d", waitSec), nil, claimHeader(claimID, first))
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

// claimHeader carries claimID (none when empty), marked new when first.
func claimHeader(claimID string, first bool) http.Header {
	if claimID == "" {
		return nil
	}
	h := http.Header{lathe.ClaimIDHeader: {claimID}}
	if first {
		h[lathe.ClaimNewHeader] = []string{"1"}
	}
	return h
}

// Report sends a report on an attempt. A fenced attempt (the server no
// longer accepts it) gives lathe.ErrFenced.
func (c *Client) Report(ctx context.Context, attemptID int64, rep *lathe.Report) (lathe.ReportReply, error) {
	return c.ReportClaiming(ctx, attemptID, rep, "", false)
}

// ReportClaiming is Report that, on a finishing report, also claims the
// agent's next job with claimID (see lathe.ReportReply.Next); first says
// the ID was never sent before, as ClaimNew does.
func (c *Client) ReportClaiming(ctx context.Context, attemptID int64, rep *lathe.Report, claimID string, first bool) (lathe.ReportReply, error) {
	var reply lathe.ReportReply
	err := c.DoWithHeader(ctx, http.MethodPost, fmt.Sprintf("/api/v1/agent/attempts/%d/report", attemptID),
		claimHeader(claimID, first), rep, &reply)
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

// WaitStop waits up to waitSec seconds for the server to order the
// attempt stopped (see lathe.StopOrder), and reports whether it did.
func (c *Client) WaitStop(ctx context.Context, attemptID int64, waitSec int) (bool, error) {
	var order lathe.StopOrder
	err := c.DoWithHeader(ctx, http.MethodGet, fmt.Sprintf("/api/v1/agent/attempts/%d/stop?wait=%d", attemptID, waitSec), nil, nil, &order)
	return order.Stop, err
}

// PutUpload sends an upload archive of size bytes, whose hex SHA-256 is sum,
// as the upload name of the attempt's run. body is read once.
func (c *Client) PutUpload(ctx context.Context, attemptID int64, name string, body io.Reader, size int64, sum string) (*lathe.Upload, error) {
	h := http.Header{}
	h.Set("Content-Type", "application/gzip")
	h.Set(lathe.UploadSHA256Header, sum)
	// The server refuses an upload it will not keep (another agent's
	// attempt, a finished one, too big) before the body is sent.
	h.Set("Expect", "100-continue")
	resp, err := c.Send(ctx, http.MethodPut, uploadPath(attemptID, name), body, size, h)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var u lathe.Upload
	if err := json.NewDecoder(resp.Body).Decode(&u); err != nil {
		return nil, fmt.Errorf("upload %s: decode answer: %w", name, err)
	}
	return &u, nil
}

// GetUpload opens the upload name of the attempt's run for reading, with
// its size and the hex SHA-256 the server recorded; the caller closes it.
func (c *Client) GetUpload(ctx context.Context, attemptID int64, name string) (body io.ReadCloser, size int64, sum string, err error) {
	resp, err := c.Request(ctx, http.MethodGet, uploadPath(attemptID, name), nil, nil)
	if err != nil {
		return nil, 0, "", err
	}
	return resp.Body, resp.ContentLength, resp.Header.Get(lathe.UploadSHA256Header), nil
}

func uploadPath(attemptID int64, name string) string {
	return fmt.Sprintf("/api/v1/agent/attempts/%d/uploads/%s", attemptID, url.PathEscape(name))
}

// ReportFileReply is what the server made of a report file.
type ReportFileReply struct {
	Kind    string `json:"kind"`
	File    string `json:"file"`
	Entries int    `json:"entries"`
	// Warning is the problem recorded on the job when the file could not
	// be read; "" when it was.
	Warning string `json:"warning"`
}

// PutReport sends one report file (kind junit or issues) of the attempt's
// job, found at file in the workspace.
func (c *Client) PutReport(ctx context.Context, attemptID int64, kind, file string, body io.Reader, size int64) (*ReportFileReply, error) {
	h := http.Header{}
	h.Set("Content-Type", "application/octet-stream")
	path := fmt.Sprintf("/api/v1/agent/attempts/%d/reports/%s?file=%s", attemptID, url.PathEscape(kind), url.QueryEscape(file))
	resp, err := c.Send(ctx, http.MethodPut, path, body, size, h)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var rep ReportFileReply
	if err := json.NewDecoder(resp.Body).Decode(&rep); err != nil {
		return nil, fmt.Errorf("report %s: decode answer: %w", file, err)
	}
	return &rep, nil
}
