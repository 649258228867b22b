package web

import (
	"encoding/xml"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	lathe "github.com/lathe-ci/lathe"
)

func TestNiceCeilRoundsUpToQuarterableTops(t *testing.T) {
	for _, c := range []struct{ in, want time.Duration }{
		{0, time.Second},
		{275 * time.Millisecond, 400 * time.Millisecond},
		{1500 * time.Millisecond, 2 * time.Second},
		{3 * time.Second, 4 * time.Second},
		{90 * time.Second, 100 * time.Second},
		{5 * time.Minute, 8 * time.Minute},
		{119 * time.Minute, 120 * time.Minute},
		{3 * time.Hour, 4 * time.Hour},
	} {
		if got := niceCeil(c.in); got != c.want || got < c.in {
			t.Errorf("niceCeil(%v) = %v, want %v", c.in, got, c.want)
		}
	}
}

// The chart is well-formed SVG, a bar per run in order with heights in
// proportion to the durations, inside the plot, and its titles escaped.
func TestDurationChartBarsInProportion(t *testing.T) {
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	runs := []lathe.RunDuration{
		{RunID: 7, Number: 1, Status: lathe.StatusSuccess, FinishedAt: now, DurationMS: 60_000},
		{RunID: 8, Number: 2, Status: lathe.StatusFailed, FinishedAt: now, DurationMS: 30_000},
		{RunID: 9, Number: 3, Status: `<script>`, FinishedAt: now, DurationMS: 90_000},
	}
	c := newDurationChart(runs)
	if c.Max != 100*time.Second || c.Mean != 60*time.Second {
		t.Fatalf("max %v mean %v", c.Max, c.Mean)
	}
	svg := string(c.SVG())
	if strings.Contains(svg, "<script>") {
		t.Fatalf("a status reached the SVG unescaped:\n%s", svg)
	}
	if err := xml.Unmarshal([]byte(svg), new(struct{})); err != nil {
		t.Fatalf("not well-formed: %v\n%s", err, svg)
	}
	bars := regexp.MustCompile(`<a href="/runs/(\d+)" class="bar st-[^"]*"[^>]*>.*?<rect x="[\d.]+" y="([\d.]+)" width="[\d.]+" height="([\d.]+)"/>`).FindAllStringSubmatch(svg, -1)
	if len(bars) != 3 {
		t.Fatalf("%d bars in\n%s", len(bars), svg)
	}
	plotH := float64(chartH - chartTop - chartBottom)
	for i, b := range bars {
		if b[1] != strconv.FormatInt(runs[i].RunID, 10) {
			t.Errorf("bar %d is run %s, want %d", i, b[1], runs[i].RunID)
		}
		y, _ := strconv.ParseFloat(b[2], 64)
		h, _ := strconv.ParseFloat(b[3], 64)
		want := plotH * float64(runs[i].DurationMS) / 100_000
		if h < want-0.2 || h > want+0.2 || y+h > float64(chartTop)+plotH+0.2 || y < chartTop-0.2 {
			t.Errorf("bar %d: y %v height %v, want height %v ending on the axis", i, y, h, want)
		}
	}
	if !strings.Contains(svg, "#3 &lt;script&gt; in 1m30s") {
		t.Errorf("the third bar's title:\n%s", svg)
	}
	if newDurationChart(nil).Empty() != true {
		t.Error("a chart of no runs is not empty")
	}
}
