package agent

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/client"
	"github.com/lathe-ci/lathe/executor"
	"github.com/lathe-ci/lathe/internal/retry"
)

// Built-in action steps (checkout, upload, download) are done by the agent
// itself. They end like commands do: exit code 0 when they succeeded, 1
// when they failed, with the reason in the job's log.

// DefaultTransferPatience is how long an upload or download goes on trying
// while the server cannot be reached or answers with a server error (a
// replica restarting, its database briefly down): long enough to ride out
// a short outage, and no longer than the lease lets a silent agent run.
const DefaultTransferPatience = 2 * time.Minute

// actionStep does a built-in action step as the shell runs a command: it
// returns the step's exit code, or an error when the job's context ended
// under it.
func (a *Agent) actionStep(ctx context.Context, jr *jobRun, act *lathe.StepAction, out io.Writer) (int, error) {
	fmt.Fprintf(out, "» %s\n", describeAction(act))
	err := a.runAction(ctx, jr, act, out)
	switch {
	case err == nil:
		return 0, nil
	case ctx.Err() != nil:
		return -1, ctx.Err()
	}
	fmt.Fprintf(out, "%v\n", err)
	jr.infra = infraReason(err)
	return 1, nil
}

// jobRun is what the action steps of one attempt share.
type jobRun struct {
	as *lathe.Assignment
	// infra is why the last action step that failed did, when the
	// infrastructure is to blame (see infraReason); "" otherwise.
	infra string
	// ws is the workspace, home the steps' HOME.
	ws, home string
	// control is the job's control directory, where tools are unpacked.
	control string
	job     executor.Job
	caches  cacheState
}

func (a *Agent) runAction(ctx context.Context, jr *jobRun, act *lathe.StepAction, out io.Writer) error {
	as, ws := jr.as, jr.ws
	switch act.Kind {
	case lathe.ActionCheckout:
		// Step 0 of every job checked the commit out already.
		fmt.Fprintf(out, "checkout: %s is already checked out in the workspace\n", as.Commit)
		if act.Depth > 0 {
			fmt.Fprintf(out, "checkout: depth %d is ignored: the agent checks out from its own mirror of the repository\n", act.Depth)
		}
		return nil
	case lathe.ActionUpload:
		return a.upload(ctx, as, ws, act, out)
	case lathe.ActionDownload:
		return a.download(ctx, as, ws, act, out)
	case lathe.ActionArtifacts:
		return a.artifacts(ctx, as, ws, act, out)
	case lathe.ActionCacheRestore, lathe.ActionCacheSave:
		// A cache only saves time: failing to restore or save one is a
		// warning in the log, never the job's failure.
		do := a.cacheRestore
		if act.Kind == lathe.ActionCacheSave {
			do = a.cacheSave
		}
		if err := do(ctx, jr, act, out); err != nil && ctx.Err() == nil {
			fmt.Fprintf(out, "warning: %v; the job goes on without it\n", err)
		}
		return ctx.Err()
	}
	return fmt.Errorf("%s: this agent (Lathe %s) does not know this action", act.Kind, lathe.Version)
}

func describeAction(act *lathe.StepAction) string {
	switch act.Kind {
	case lathe.ActionUpload:
		return fmt.Sprintf("upload %s (%s)", act.Name, strings.Join(act.Paths, ", "))
	case lathe.ActionDownload:
		return "download " + act.Name
	case lathe.ActionArtifacts:
		return "artifacts (" + strings.Join(act.Paths, ", ") + ")"
	case lathe.ActionCacheRestore:
		return "restore cache " + act.Key
	case lathe.ActionCacheSave:
		return "save cache " + act.Key
	}
	return act.Kind
}

// upload packs the files the action's globs match into an archive and
// sends it to the server as the run's upload of the action's name.
func (a *Agent) upload(ctx context.Context, as *lathe.Assignment, ws string, act *lathe.StepAction, out io.Writer) error {
	tmp, err := a.tempFile("upload-*.tar.gz")
	if err != nil {
		return fmt.Errorf("upload %s: %w", act.Name, err)
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	h := sha256.New()
	st, err := pack(io.MultiWriter(tmp, h), ws, act.Paths, func(line string) {
		fmt.Fprintf(out, "upload %s: %s\n", act.Name, line)
	})
	if err != nil {
		return fmt.Errorf("upload %s: %w", act.Name, err)
	}
	size, err := tmp.Seek(0, io.SeekCurrent)
	if err != nil {
		return fmt.Errorf("upload %s: %w", act.Name, err)
	}
	sum := hex.EncodeToString(h.Sum(nil))
	err = a.retryTransfer(ctx, out, "upload "+act.Name, func() error {
		// A section reader is not a Closer: the client leaves the file open for the next try.
		_, err := a.Client.PutUpload(ctx, as.AttemptID, act.Name, io.NewSectionReader(tmp, 0, size), size, sum)
		return err
	})
	if err != nil {
		return fmt.Errorf("upload %s: %w", act.Name, err)
	}
	fmt.Fprintf(out, "upload %s: %s stored (%s archive, sha256 %s)\n", act.Name, st, byteSize(size), sum[:12])
	return nil
}

// download fetches the run's upload of the action's name and unpacks it
// into the workspace once its SHA-256 checks out.
func (a *Agent) download(ctx context.Context, as *lathe.Assignment, ws string, act *lathe.StepAction, out io.Writer) error {
	tmp, err := a.tempFile("download-*.tar.gz")
	if err != nil {
		return fmt.Errorf("download %s: %w", act.Name, err)
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	err = a.retryTransfer(ctx, out, "download "+act.Name, func() error {
		if err := tmp.Truncate(0); err != nil {
			return err
		}
		if _, err := tmp.Seek(0, io.SeekStart); err != nil {
			return err
		}
		body, _, sum, err := a.Client.GetUpload(ctx, as.AttemptID, act.Name)
		if err != nil {
			return err
		}
		defer body.Close()
		h := sha256.New()
		if _, err := io.Copy(io.MultiWriter(tmp, h), body); err != nil {
			return err
		}
		if got := hex.EncodeToString(h.Sum(nil)); got != sum {
			return errDamaged{fmt.Sprintf("the archive's SHA-256 is %s, the server recorded %s", got, sum)}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("download %s: %w", act.Name, err)
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("download %s: %w", act.Name, err)
	}
	st, err := unpack(tmp, ws, defaultUnpackLimits)
	if err != nil {
		return fmt.Errorf("download %s: %w", act.Name, err)
	}
	fmt.Fprintf(out, "download %s: %s unpacked into the workspace\n", act.Name, st)
	return nil
}

// tempFile makes a file for an archive beside the workspaces, never in one.
func (a *Agent) tempFile(pattern string) (*os.File, error) {
	dir := filepath.Join(a.WorkDir, "tmp")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	return os.CreateTemp(dir, pattern)
}

// errDamaged is a transfer whose bytes did not match their checksum: worth
// another try.
type errDamaged struct{ msg string }

func (e errDamaged) Error() string { return e.msg }

// retryTransfer calls fn until it succeeds, fails for a reason another try
// would not change, or has been tried for the agent's TransferPatience,
// waiting about a second, then more, in between; each retry is noted in the
// log. An error another try might have cured is an errInfra.
func (a *Agent) retryTransfer(ctx context.Context, out io.Writer, what string, fn func() error) error {
	err := retry.Do(ctx, retry.Policy{
		Backoff:   retry.Backoff{Base: time.Second, Cap: 8 * time.Second},
		Within:    a.TransferPatience,
		Retryable: transient,
		OnRetry: func(err error, wait time.Duration) {
			fmt.Fprintf(out, "%s: %v; trying again in %s\n", what, err, wait.Round(time.Millisecond))
		},
	}, fn)
	if err != nil && ctx.Err() == nil && transient(err) {
		return errInfra{what: what, err: err}
	}
	return err
}

// errInfra is a transfer the server could not take or give for its own
// reasons however long the agent tried: the attempt fails for the
// infrastructure, not for the job (see infraReason).
type errInfra struct {
	what string
	err  error
}

func (e errInfra) Error() string { return fmt.Sprintf("%s: %v", e.what, e.err) }
func (e errInfra) Unwrap() error { return e.err }

// infraReason is the finish reason of an attempt a step failed with err
// for the infrastructure (lathe.CheckInfraReason holds for it), or "".
func infraReason(err error) string {
	var infra errInfra
	if !errors.As(err, &infra) {
		return ""
	}
	r := []rune(lathe.InfraReasonPrefix + "the server did not answer: " + strings.Map(func(c rune) rune {
		if unicode.IsControl(c) {
			return ' '
		}
		return c
	}, infra.Error()))
	for len(string(r)) > 200 {
		r = r[:len(r)-1]
	}
	return string(r)
}

// transient reports whether err may pass on its own: the server could not
// be reached, failed, or the bytes were damaged on the way. Refusals (no
// such upload, another job's name, a fenced attempt, too big) are final.
func transient(err error) bool {
	var damaged errDamaged
	switch code := client.StatusOf(err); {
	case errors.As(err, &damaged):
		return true
	case code == 0:
		return true
	case code == http.StatusTooManyRequests || code >= 500:
		return true
	}
	return false
}
