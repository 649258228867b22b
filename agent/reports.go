package agent

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"time"

	"github.com/bmatcuk/doublestar/v4"
	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/secret"
)

// reportTimeout bounds sending a job's report files.
const reportTimeout = 2 * time.Minute

// sendReports sends the files the job's `reports:` globs match in the
// workspace ws to the server, which parses them: JUnit test reports and
// findings files. It runs after the steps whether they passed or not
// (failing tests are when the report matters) and before the attempt's
// final report, while the attempt still runs. Only regular files inside
// the workspace go (no symbolic links, nothing larger than
// lathe.MaxReportBytes), with the job's secrets masked (masks); what it
// sends, leaves out or fails to send is a line in the job's log, never a
// change of the job's status.
func (a *Agent) sendReports(ctx context.Context, as *lathe.Assignment, ws string, masks *secret.Masks, log io.Writer) {
	if as.Reports == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), reportTimeout)
	defer cancel()
	root, err := os.OpenRoot(ws)
	if err != nil {
		fmt.Fprintf(log, "reports: cannot open the workspace: %v\n", err)
		return
	}
	defer root.Close()
	sent := 0
	for _, kind := range []struct {
		name  string
		globs []string
	}{{"junit", as.Reports.JUnit}, {"issues", as.Reports.Issues}} {
		for _, file := range reportFiles(root, kind.globs, log) {
			if sent >= lathe.MaxReportFiles {
				fmt.Fprintf(log, "reports: more than %d files; %s and the rest not sent\n", lathe.MaxReportFiles, file)
				return
			}
			sent++
			a.sendReport(ctx, as.AttemptID, root, kind.name, file, masks, log)
		}
	}
}

// reportFiles lists the regular files the globs match, in order, each once.
func reportFiles(root *os.Root, globs []string, log io.Writer) []string {
	var out []string
	for _, g := range globs {
		matches, err := doublestar.Glob(root.FS(), g, doublestar.WithNoFollow(), doublestar.WithFilesOnly())
		if err != nil {
			fmt.Fprintf(log, "reports: %s: %v\n", g, err)
			continue
		}
		if len(matches) == 0 {
			fmt.Fprintf(log, "reports: %s matches nothing\n", g)
		}
		slices.Sort(matches)
		for _, m := range matches {
			if !slices.Contains(out, m) {
				out = append(out, m)
			}
		}
	}
	return out
}

// sendReport sends one file, refusing links and files over the limit. A
// job with secrets has the file read whole (it is at most
// lathe.MaxReportBytes) and sent masked.
func (a *Agent) sendReport(ctx context.Context, attemptID int64, root *os.Root, kind, file string, masks *secret.Masks, log io.Writer) {
	fi, err := root.Lstat(file)
	switch {
	case err != nil:
		fmt.Fprintf(log, "reports: %s: %v\n", file, err)
		return
	case fi.Mode()&fs.ModeSymlink != 0 || linkOnPath(root, file) != "":
		fmt.Fprintf(log, "reports: %s: reached through a symbolic link, not sent\n", file)
		return
	case !fi.Mode().IsRegular():
		fmt.Fprintf(log, "reports: %s: not a regular file, not sent\n", file)
		return
	case fi.Size() > lathe.MaxReportBytes:
		fmt.Fprintf(log, "reports: %s: %d bytes, over the %d a report may have; not sent\n", file, fi.Size(), lathe.MaxReportBytes)
		return
	}
	f, err := root.Open(file)
	if err != nil {
		fmt.Fprintf(log, "reports: %s: %v\n", file, err)
		return
	}
	defer f.Close()
	var body io.Reader = f
	size := fi.Size()
	if !masks.Empty() {
		b, err := io.ReadAll(io.LimitReader(f, lathe.MaxReportBytes))
		if err != nil {
			fmt.Fprintf(log, "reports: %s: %v\n", file, err)
			return
		}
		b = masks.Bytes(b)
		body, size = bytes.NewReader(b), int64(len(b))
	}
	rep, err := a.Client.PutReport(ctx, attemptID, kind, file, body, size)
	switch {
	case err != nil:
		fmt.Fprintf(log, "reports: %s: not sent: %v\n", file, err)
	case rep.Warning != "":
		fmt.Fprintf(log, "reports: %s: %s\n", file, rep.Warning)
	default:
		fmt.Fprintf(log, "reports: %s (%s): %d entries\n", file, kind, rep.Entries)
	}
}
