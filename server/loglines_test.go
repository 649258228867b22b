package server_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/client"
	"github.com/lathe-ci/lathe/internal/lathetest"
)

// linesPipeline's first step prints 250 numbered lines, every 50th an
// error; its second prints three words, the last without a newline.
const linesPipeline = `
jobs:
  talk:
    steps:
      - name: count
        run: for i in $(seq 1 250); do if [ $((i % 50)) = 0 ]; then echo "ERROR at $i"; else echo "line $i"; fi; done
      - name: words
        run: printf 'alpha\nBeta\nGAMMA'
`

// A log read as lines pages through the same bytes as the plain read, from
// the first line or the last, filtered by text or regular expression, each
// line with its number, offset and arrival time (Kraken's job and step
// logs).
func TestLogReadAsLines(t *testing.T) {
	lathetest.Engines(t, func(t *testing.T, o lathetest.Options) {
		l := lathetest.Start(t, o)
		l.Project(t, "lines", lathetest.Repo(t, map[string]string{".lathe.yml": linesPipeline}))
		before := time.Now().UTC().Add(-time.Second)
		run := l.Wait(t, l.Trigger(t, "lines", "", "").ID, time.Minute)
		if run.Status != lathe.StatusSuccess {
			t.Fatalf("run %s", run.Status)
		}
		job := l.Job(t, run.Jobs[0].ID)
		raw := l.Log(t, job.ID)
		steps := job.Attempts[len(job.Attempts)-1].Steps
		lines := func(q url.Values) lathe.LogLines {
			t.Helper()
			var page lathe.LogLines
			l.Do(t, http.MethodGet, fmt.Sprintf("/api/v1/jobs/%d/log/lines?%s", job.ID, q.Encode()), nil, &page)
			return page
		}

		// Page through the whole log: the lines put together are the log.
		var all strings.Builder
		pages := 0
		for start := int64(0); pages < 100; pages++ {
			page := lines(url.Values{"start": {fmt.Sprint(start)}, "limit": {"40"}})
			for i, ln := range page.Items {
				if ln.Number != start+int64(i)+1 || !strings.HasPrefix(raw[ln.Offset:], ln.Text+"\n") {
					t.Fatalf("line %+v at %d of a page from %d", ln, i, start)
				}
				if ln.Time == nil || ln.Time.Before(before) || ln.Time.After(job.FinishedAt.Add(time.Second)) {
					t.Errorf("line %d's time %v is not when it arrived", ln.Number, ln.Time)
				}
				all.WriteString(ln.Text + "\n")
			}
			if page.Total != page.Lines || page.Lines != int64(strings.Count(raw, "\n")) || !page.Complete || page.Attempt != 1 {
				t.Fatalf("page from %d: total %d, lines %d, complete %v, attempt %d; the log has %d lines",
					start, page.Total, page.Lines, page.Complete, page.Attempt, strings.Count(raw, "\n"))
			}
			if page.Next == nil {
				break
			}
			start = *page.Next
		}
		if all.String() != raw || pages < 6 {
			t.Errorf("%d pages put together differ from the log:\n%q\n%q", pages+1, all.String(), raw)
		}

		// The last lines of a step, newest first, numbered within the step.
		tail := lines(url.Values{"step": {"2"}, "order": {"desc"}, "limit": {"2"}})
		if got := fmt.Sprint(texts(tail.Items)); !strings.HasSuffix(raw[steps[2].LogStart:*steps[2].LogEnd], "Beta\nGAMMA\n") ||
			got != "[GAMMA Beta]" || tail.Items[0].Number != tail.Lines || tail.Next == nil {
			t.Errorf("step 2's tail: %s (%+v)", got, tail)
		}
		more := lines(url.Values{"step": {"2"}, "order": {"desc"}, "limit": {"2"}, "start": {fmt.Sprint(*tail.Next)}})
		// The step's part starts with its command line.
		if got := texts(more.Items); len(got) != 2 || got[0] != "alpha" || !strings.HasPrefix(got[1], "$ printf") || more.Next != nil {
			t.Errorf("step 2's tail, next page: %s", got)
		}

		// Filters: by text, ignoring case, and by regular expression.
		errs := lines(url.Values{"step": {"1"}, "filter": {"error AT 1"}})
		if got := fmt.Sprint(texts(errs.Items)); errs.Total != 2 || got != "[ERROR at 100 ERROR at 150]" ||
			errs.Items[0].Number != 101 || errs.Lines != 251 {
			t.Errorf("filter error: total %d, lines %d, %s", errs.Total, errs.Lines, got)
		}
		teens := lines(url.Values{"step": {"1"}, "regexp": {`^line 1\d$`}, "order": {"desc"}, "limit": {"3"}})
		if got := fmt.Sprint(texts(teens.Items)); teens.Total != 10 || got != "[line 19 line 18 line 17]" {
			t.Errorf("regexp: total %d, %s", teens.Total, got)
		}

		for q, want := range map[string]int{
			"filter=a&regexp=b": http.StatusBadRequest, "order=sideways": http.StatusBadRequest,
			"regexp=(": http.StatusBadRequest, "limit=0": http.StatusBadRequest, "step=9": http.StatusNotFound,
		} {
			err := l.Client.Do(context.Background(), http.MethodGet, fmt.Sprintf("/api/v1/jobs/%d/log/lines?%s", job.ID, q), nil, nil)
			if client.StatusOf(err) != want {
				t.Errorf("?%s: %v, want %d", q, err, want)
			}
		}
	})
}

func texts(items []lathe.LogLine) []string {
	var out []string
	for _, ln := range items {
		out = append(out, ln.Text)
	}
	return out
}
