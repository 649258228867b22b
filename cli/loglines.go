package cli

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/client"
)

// maxTail is the most lines --tail asks for (one page of the server's).
const maxTail = 10_000

// lineQuery reads logs as lines (GET /api/v1/jobs/{job}/log/lines): the
// last tail lines, the lines containing grep, or the last tail of those.
type lineQuery struct {
	logQuery
	tail int
	grep string
}

func (q lineQuery) selects() bool { return q.tail > 0 || q.grep != "" }

// printLines prints, for every job of the run whose log q reads, the lines
// q selects, oldest first: with --grep each with its line number, with
// --timestamps each with its time.
func printLines(ctx context.Context, c *client.Client, runID int64, w io.Writer, q lineQuery) error {
	return eachJobLog(ctx, c, runID, q.logQuery, func(j *lathe.Job) error {
		v := url.Values{}
		if q.step >= 0 {
			v.Set("step", strconv.Itoa(q.step))
		}
		if q.attempt > 0 {
			v.Set("attempt", strconv.Itoa(q.attempt))
		}
		if q.grep != "" {
			v.Set("filter", q.grep)
		}
		limit := maxTail
		if q.tail > 0 {
			v.Set("order", "desc")
			limit = q.tail
		}
		v.Set("limit", strconv.Itoa(limit))
		var lines []string
		for start := int64(0); ; {
			v.Set("start", strconv.FormatInt(start, 10))
			var page lathe.LogLines
			if err := c.Do(ctx, http.MethodGet, fmt.Sprintf("/api/v1/jobs/%d/log/lines?%s", j.ID, v.Encode()), nil, &page); err != nil {
				return err
			}
			for _, l := range page.Items {
				line := "[" + j.Name + "] "
				if q.timestamps {
					line += stamp(l.Time) + " "
				}
				if q.grep != "" {
					line += strconv.FormatInt(l.Number, 10) + ": "
				}
				lines = append(lines, line+l.Text)
			}
			if q.tail > 0 || page.Next == nil || *page.Next <= start {
				break
			}
			start = *page.Next
		}
		if q.tail > 0 {
			slices.Reverse(lines) // newest first from the server
		}
		for _, l := range lines {
			if _, err := fmt.Fprintln(w, l); err != nil {
				return err
			}
		}
		return nil
	})
}

// stamp is a line's time as `lathe logs --timestamps` prints it, or a dash
// as wide for a time the server does not know.
func stamp(t *time.Time) string {
	if t == nil {
		return "-" + strings.Repeat(" ", len(lathe.LogTimeLayout)-1)
	}
	return t.UTC().Format(lathe.LogTimeLayout)
}
