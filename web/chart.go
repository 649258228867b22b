package web

import (
	"fmt"
	"html"
	"html/template"
	"strings"
	"time"

	lathe "github.com/lathe-ci/lathe"
)

// Charts are drawn on the server as SVG, like the job graph: no chart
// library and no script, a figure that prints, scales with its box
// (viewBox) and carries its numbers in each mark's title. Every text that
// comes from data goes through html.EscapeString; the rest are numbers and
// fixed words.

// Duration chart geometry, in viewBox units.
const (
	chartW, chartH        = 720, 260
	chartLeft, chartRight = 64, 12
	chartTop, chartBottom = 12, 36
)

// durationChart is a bar per finished run, oldest on the left, its height
// the run's duration and its colour (and title) its result, with the mean
// as a line.
type durationChart struct {
	Runs []lathe.RunDuration
	// Max is the top of the axis, a round duration above the longest run.
	Max  time.Duration
	Mean time.Duration
}

func newDurationChart(runs []lathe.RunDuration) durationChart {
	c := durationChart{Runs: runs}
	var longest, sum time.Duration
	for _, r := range runs {
		d := time.Duration(r.DurationMS) * time.Millisecond
		longest = max(longest, d)
		sum += d
	}
	if len(runs) > 0 {
		c.Mean = sum / time.Duration(len(runs))
	}
	c.Max = niceCeil(longest)
	return c
}

// niceCeil rounds d up to a round number of milliseconds, seconds,
// minutes or hours whose quarters are round too: the top of the axis.
func niceCeil(d time.Duration) time.Duration {
	unit := time.Millisecond
	switch {
	case d <= 0:
		return time.Second
	case d > 2*time.Hour:
		unit = time.Hour
	case d > 2*time.Minute:
		unit = time.Minute
	case d > 2*time.Second:
		unit = time.Second
	}
	for _, m := range []time.Duration{1, 2, 4, 8, 10, 12, 20, 40, 60, 80, 100, 120, 200, 400, 600, 800, 1000, 2000, 4000, 8000} {
		if m*unit >= d {
			return m * unit
		}
	}
	return d
}

// Empty says there is nothing to draw.
func (c durationChart) Empty() bool { return len(c.Runs) == 0 }

// SVG draws the chart.
func (c durationChart) SVG() template.HTML {
	var b strings.Builder
	plotW, plotH := chartW-chartLeft-chartRight, chartH-chartTop-chartBottom
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %d %d" role="img" aria-labelledby="chart-title">`, chartW, chartH)
	fmt.Fprintf(&b, `<title id="chart-title">Duration of the last %d finished runs, oldest first; mean %s</title>`,
		len(c.Runs), formatDuration(c.Mean))
	y := func(d time.Duration) float64 {
		return float64(chartTop) + float64(plotH)*(1-float64(d)/float64(c.Max))
	}
	for i := 0; i <= 4; i++ {
		d := c.Max * time.Duration(i) / 4
		fmt.Fprintf(&b, `<line class="grid" x1="%d" x2="%d" y1="%.1f" y2="%.1f"/><text class="axis" x="%d" y="%.1f" text-anchor="end">%s</text>`,
			chartLeft, chartW-chartRight, y(d), y(d), chartLeft-6, y(d)+4, formatDuration(d))
	}
	n := len(c.Runs)
	slot := float64(plotW) / float64(max(n, 1))
	barW := max(slot*0.8, 1)
	// Label the run numbers under about ten bars, the first and last always.
	every := max(1, (n+9)/10)
	for i, r := range c.Runs {
		x := float64(chartLeft) + slot*float64(i) + (slot-barW)/2
		d := time.Duration(r.DurationMS) * time.Millisecond
		top := y(d)
		st := html.EscapeString(string(r.Status))
		fmt.Fprintf(&b, `<a href="/runs/%d" class="bar st-%s" data-run="%d" data-duration-ms="%d"><title>#%d %s in %s, %s</title>`+
			`<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f"/></a>`,
			r.RunID, st, r.RunID, r.DurationMS, r.Number, html.EscapeString(status(r.Status).Label), formatDuration(d),
			r.FinishedAt.UTC().Format("2006-01-02 15:04 UTC"), x, top, barW, max(float64(chartTop+plotH)-top, 1))
		if i%every == 0 || i == n-1 {
			fmt.Fprintf(&b, `<text class="axis" x="%.1f" y="%d" text-anchor="middle">#%d</text>`, x+barW/2, chartH-chartBottom+16, r.Number)
		}
	}
	if n > 0 {
		fmt.Fprintf(&b, `<line class="mean" x1="%d" x2="%d" y1="%.1f" y2="%.1f"/>`, chartLeft, chartW-chartRight, y(c.Mean), y(c.Mean))
	}
	fmt.Fprintf(&b, `<line class="base" x1="%d" x2="%d" y1="%d" y2="%d"/></svg>`, chartLeft, chartW-chartRight, chartTop+plotH, chartTop+plotH)
	return template.HTML(b.String())
}

// historyStrip is a test case's results as a row of cells, oldest on
// the left, one per run, each a link to the run.
type historyStrip struct {
	Items []lathe.TestHistoryEntry
}

const stripCell, stripGap = 14, 3

func layoutStrip(oldestFirst []lathe.TestHistoryEntry) historyStrip {
	return historyStrip{Items: oldestFirst}
}

// SVG draws the strip.
func (s historyStrip) SVG() template.HTML {
	if len(s.Items) == 0 {
		return ""
	}
	var b strings.Builder
	w := len(s.Items)*(stripCell+stripGap) - stripGap
	fmt.Fprintf(&b, `<svg class="strip" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-label="Results of the last %d runs, oldest first">`,
		w, stripCell, w, stripCell, len(s.Items))
	for i, e := range s.Items {
		st := testStatus(e.Status)
		fmt.Fprintf(&b, `<a href="/runs/%d" class="cell st-%s" data-status="%s"><title>#%d %s (%s)</title><rect x="%d" y="0" width="%d" height="%d" rx="2"/></a>`,
			e.RunID, html.EscapeString(string(st.Status)), html.EscapeString(e.Status), e.RunNumber, html.EscapeString(st.Label),
			html.EscapeString(e.Branch), i*(stripCell+stripGap), stripCell, stripCell)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}
