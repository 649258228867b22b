package agent

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/executor"
	"github.com/lathe-ci/lathe/tool"
)

// Tool steps (`uses: NAME@VERSION`) run a published tool in the job like a
// command. The agent fetches the tool's archive from the server, checks its
// SHA-256 against both the server's header and the digest the run was
// planned with, and keeps it in <work dir>/tools/, named by NAME@VERSION and
// digest, so later jobs use it without fetching it again. Each use unpacks
// it (with the download rules: regular files and directories at relative
// paths only) into the job's control directory, <control>/tools/NAME@VERSION,
// which the steps can read but not change, whichever the executor. The
// entry point runs with the workspace as its working directory, each
// parameter as INPUT_<NAME> (upper case, '-' as '_') and the tool's own
// directory as LATHE_TOOL_DIR.

// toolLimits bound a tool unpacked on the agent, as the server does.
var toolLimits = unpackLimits{Bytes: tool.DefaultLimits.Bytes, Entries: tool.DefaultLimits.Entries}

// toolStep runs a tool step: its exit code, or an error when the job's
// context ended under it.
func (a *Agent) toolStep(ctx context.Context, jr *jobRun, act *lathe.StepAction, out *shipper) (int, error) {
	fmt.Fprintf(out, "» tool %s\n", act.Tool)
	dir, err := a.prepareTool(ctx, jr, act, out)
	if err != nil {
		if ctx.Err() != nil {
			return -1, ctx.Err()
		}
		fmt.Fprintf(out, "tool %s: %v\n", act.Tool, err)
		return 1, nil
	}
	names := make([]string, 0, len(act.With))
	for k := range act.With {
		names = append(names, k)
	}
	sort.Strings(names)
	var script strings.Builder
	fmt.Fprintf(&script, "export LATHE_TOOL_DIR=%s\n", shellQuote(dir))
	for _, k := range names {
		fmt.Fprintf(&script, "export %s=%s\n", tool.EnvName(k), shellQuote(act.With[k]))
	}
	fmt.Fprintf(&script, "exec \"$LATHE_TOOL_DIR\"/%s\n", shellQuote(act.Entrypoint))
	shown := make([]string, len(names))
	for i, k := range names {
		shown[i] = tool.EnvName(k)
	}
	fmt.Fprintf(out, "$ %s/%s (%s)\n", act.Tool, act.Entrypoint, strings.Join(shown, " "))
	stepOut, endOutput, err := out.StepOutput()
	if err != nil {
		return -1, err
	}
	defer endOutput()
	return jr.job.Run(ctx, executor.Step{Script: script.String(), Output: stepOut})
}

// prepareTool makes the tool of a step ready in the job's control
// directory and returns its directory there.
func (a *Agent) prepareTool(ctx context.Context, jr *jobRun, act *lathe.StepAction, out io.Writer) (string, error) {
	name, version, err := lathe.ParseToolRef(act.Tool)
	if err != nil {
		return "", err
	}
	if !hexSHA256(act.ToolSHA256) || act.Entrypoint == "" {
		return "", errors.New("the run was planned without the tool's digest and entry point; this server is older than the agent's tool support")
	}
	archive, err := a.cachedTool(ctx, jr.as.AttemptID, name, version, act.ToolSHA256, out)
	if err != nil {
		return "", err
	}
	f, err := os.Open(archive)
	if err != nil {
		return "", err
	}
	defer f.Close()
	dir := filepath.Join(jr.control, "tools", act.Tool)
	if err := os.RemoveAll(dir); err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	st, err := unpack(f, dir, toolLimits)
	if err != nil {
		return "", fmt.Errorf("unpack: %w", err)
	}
	fmt.Fprintf(out, "tool %s: %s unpacked (sha256 %s)\n", act.Tool, st, act.ToolSHA256[:12])
	return dir, nil
}

// cachedTool returns the path of the tool's archive in the agent's cache,
// fetching it first when it is not there. Only an archive whose SHA-256 is
// sum (what the run was planned with) is kept.
func (a *Agent) cachedTool(ctx context.Context, attemptID int64, name, version, sum string, out io.Writer) (string, error) {
	d := sha256.Sum256([]byte(name + "@" + version))
	dir := filepath.Join(a.WorkDir, "tools")
	path := filepath.Join(dir, hex.EncodeToString(d[:12])+"-"+sum+".tar.gz")
	if _, err := os.Stat(path); err == nil {
		touchTool(path)
		fmt.Fprintf(out, "tool %s@%s: in the agent's cache\n", name, version)
		return path, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	tmp, err := os.CreateTemp(dir, "fetch-*")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	err = a.retryTransfer(ctx, out, "tool "+name+"@"+version, func() error {
		if err := tmp.Truncate(0); err != nil {
			return err
		}
		if _, err := tmp.Seek(0, io.SeekStart); err != nil {
			return err
		}
		body, served, err := a.Client.GetTool(ctx, attemptID, name, version)
		if err != nil {
			return err
		}
		defer body.Close()
		h := sha256.New()
		if _, err := io.Copy(io.MultiWriter(tmp, h), body); err != nil {
			return err
		}
		if got := hex.EncodeToString(h.Sum(nil)); got != served {
			return errDamaged{fmt.Sprintf("the archive's SHA-256 is %s, the server recorded %s", got, served)}
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("fetch: %w", err)
	}
	h := sha256.New()
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return "", err
	}
	if _, err := io.Copy(h, tmp); err != nil {
		return "", err
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != sum {
		return "", fmt.Errorf("the server's archive (sha256 %s) is not the one this run was planned with (sha256 %s): the version was deleted and published again; run the pipeline again to use the new one", got, sum)
	}
	if err := tmp.Close(); err != nil {
		return "", err
	}
	// Another job may have fetched it meanwhile: the same bytes either way.
	if err := os.Rename(tmp.Name(), path); err != nil {
		return "", err
	}
	fmt.Fprintf(out, "tool %s@%s: fetched\n", name, version)
	return path, nil
}

func hexSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil && strings.ToLower(s) == s
}

// shellQuote quotes s for the POSIX shell.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
