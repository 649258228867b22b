package local

import (
	"fmt"
	"strings"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/pipeline"
)

// summary prints a table of the jobs with their statuses and durations, then
// the run's status. Columns are padded by hand rather than with tabwriter,
// which would count color codes as width.
func (c *console) summary(res *Result) {
	stages := false
	for _, j := range res.Jobs {
		stages = stages || j.Stage != pipeline.DefaultStage
	}
	head := []string{"JOB", "STATUS", "DURATION", ""}
	if stages {
		head = []string{"JOB", "STAGE", "STATUS", "DURATION", ""}
	}
	rows := [][]string{head}
	for _, j := range res.Jobs {
		d := "-"
		if j.Duration > 0 {
			d = round(j.Duration).String()
		}
		row := []string{j.Name, string(j.Status), d, j.Reason}
		if stages {
			row = []string{j.Name, j.Stage, string(j.Status), d, j.Reason}
		}
		rows = append(rows, row)
	}
	status := len(head) - 3 // the STATUS column
	width := make([]int, len(head))
	for _, row := range rows {
		for k, cell := range row {
			width[k] = max(width[k], len(cell))
		}
	}
	var b strings.Builder
	b.WriteString("\n")
	for n, row := range rows {
		line := "  "
		for k, cell := range row {
			pad := ""
			if k < len(row)-1 {
				pad = strings.Repeat(" ", width[k]-len(cell)+2)
			}
			switch {
			case cell == "":
			case n == 0:
				cell = c.paint(bold, cell)
			case k == status:
				cell = c.paint(statusColor(lathe.Status(cell)), cell)
			}
			line += cell + pad
		}
		b.WriteString(strings.TrimRight(line, " ") + "\n")
	}
	fmt.Fprintf(&b, "\n%s %s in %s\n", c.paint(bold, "pipeline "+res.Pipeline+":"),
		c.paint(statusColor(res.Status), string(res.Status)), round(res.Duration))
	c.write([]byte(b.String()))
}

// statusColor is green for success, red for a failure, yellow otherwise.
func statusColor(s lathe.Status) string {
	switch s {
	case lathe.StatusSuccess:
		return green
	case lathe.StatusFailed, lathe.StatusTimedOut, lathe.StatusLost:
		return red
	}
	return yellow
}
