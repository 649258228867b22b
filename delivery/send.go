package delivery

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/forge"
	"github.com/lathe-ci/lathe/outbound"
	"github.com/lathe-ci/lathe/store"
	"github.com/lathe-ci/lathe/webhook"
)

// Schedule is the waits after each failed try (with up to 10% more, drawn
// at random, so receivers coming back are not hit by every sender at
// once); no try is made more than MaxAge after the delivery was queued.
var Schedule = []time.Duration{5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 5 * time.Hour, 10 * time.Hour, 14 * time.Hour}

// MaxAge is how long a delivery is tried.
const MaxAge = 24 * time.Hour

// NextTry is when to try a delivery queued at created again after its
// attempt-th try failed at now, or false to give up.
func NextTry(attempt int, created, now time.Time, draw func(n int64) int64) (time.Time, bool) {
	if attempt < 1 || attempt > len(Schedule) {
		return time.Time{}, false
	}
	if draw == nil {
		draw = rand.Int64N
	}
	wait := Schedule[attempt-1]
	wait += time.Duration(draw(int64(wait/10) + 1))
	next, last := now.Add(wait), created.Add(MaxAge)
	if next.After(last) {
		if !now.Before(last) {
			return time.Time{}, false
		}
		next = last
	}
	return next, true
}

// send makes one try of a delivery.
func (l *Loop) send(ctx context.Context, o *store.Outgoing) store.Try {
	var req outbound.Request
	var try store.Try
	switch o.Kind {
	case lathe.DeliveryStatus:
		var repo *forge.Repo
		if l.Repos != nil {
			var err error
			if repo, err = l.Repos.ForgeRepo(ctx, o.ProjectID); err != nil {
				return l.retry(o, store.Try{Err: "find the project's forge repository: " + err.Error()})
			}
		}
		if repo == nil {
			return store.Try{Skipped: true, Err: "the project has no forge repository"}
		}
		try.Target = l.runURL(o.RunID)
		fr, err := forge.StatusRequest(repo, forge.Status{SHA: o.Commit, State: forge.State(o.State), Context: o.Context,
			TargetURL: try.Target, Description: describe(o)})
		if err != nil {
			try.Err = err.Error()
			return try // a repository that cannot be reported to: no retry
		}
		req = outbound.Request(fr)
	case lathe.DeliveryWebhook:
		try.Target = o.URL
		if o.OpenErr != nil {
			try.Err = o.OpenErr.Error()
			return try
		}
		h := http.Header{"Content-Type": {"application/json"}}
		if err := webhook.Sign(h, o.Secret, o.MessageID, l.Clock.Now(), o.Payload); err != nil {
			try.Err = "sign: " + err.Error()
			return try
		}
		req = outbound.Request{Method: http.MethodPost, URL: o.URL, Header: h, Body: o.Payload}
	default:
		try.Err = fmt.Sprintf("unknown kind of delivery %q", o.Kind)
		return try
	}
	resp, err := l.Client.Do(ctx, req)
	switch {
	case outbound.Refused(err):
		try.Err = err.Error()
		l.Log.Warn("delivery refused", "delivery_id", o.ID, "kind", o.Kind, "err", err)
		return try // the operator's allow-list decides, not time
	case err != nil:
		try.Err = err.Error()
		return l.retry(o, try)
	}
	try.Code = resp.Code
	if resp.Code >= 200 && resp.Code < 300 {
		try.Delivered = true
		return try
	}
	try.Err = "HTTP " + strconv.Itoa(resp.Code) + answer(resp.Body)
	if resp.Code >= 500 || resp.Code == http.StatusRequestTimeout || resp.Code == http.StatusTooManyRequests {
		return l.retry(o, try)
	}
	return try // another 4xx: the request is wrong (a token, a repository), not the moment
}

// retry sets when to try again, if at all.
func (l *Loop) retry(o *store.Outgoing, try store.Try) store.Try {
	next, ok := NextTry(o.Attempts+1, o.CreatedAt, l.Clock.Now(), nil)
	if ok {
		try.Retry = next
	} else {
		l.Log.Warn("delivery given up", "delivery_id", o.ID, "kind", o.Kind, "attempts", o.Attempts+1, "err", try.Err)
	}
	return try
}

// RunPath is where a run's page is, under the server's public URL (the
// web UI's run page; its JSON is at /api/v1/runs/{id}).
const RunPath = "/runs/"

func (l *Loop) runURL(runID int64) string {
	return strings.TrimRight(l.PublicURL, "/") + RunPath + strconv.FormatInt(runID, 10)
}

// describe is a status's line: "Lathe #12 is running".
func describe(o *store.Outgoing) string {
	var what string
	switch forge.State(o.State) {
	case forge.StatePending:
		what = "is queued"
	case forge.StateWaiting:
		what = "waits for an approval in Lathe"
	case forge.StateRunning:
		what = "is running"
	case forge.StateSuccess:
		what = "succeeded"
	case forge.StateFailure:
		what = "failed"
	case forge.StateError:
		what = "was canceled"
	}
	return fmt.Sprintf("Lathe %s #%d %s", o.Pipeline, o.RunNumber, what)
}

// answer is the start of an answer's body, for the error recorded.
func answer(body []byte) string {
	s := strings.TrimSpace(string(body))
	if s == "" {
		return ""
	}
	if len(s) > 200 {
		s = s[:200]
		for !utf8.ValidString(s) {
			s = s[:len(s)-1]
		}
		s += "…"
	}
	return ": " + s
}
