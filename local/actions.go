package local

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/agent"
)

// The built-in action steps on this machine. Upload, download and
// artifacts do what an agent does, with the run's directory under
// .lathe/exec (see store) in place of the server: the same archives, globs
// and refusals, so a pipeline that hands files from job to job works the
// same here and on a server. In a shared workspace there is nothing to
// hand on: every job already sees what the others left.

// action does one action step of job in the workspace ws, writing what it
// did to out. It returns an error when the step failed.
func (r *run) action(ws, job string, a *lathe.StepAction, out io.Writer) error {
	shared := r.opts.SharedWorkspace
	switch a.Kind {
	case lathe.ActionCheckout:
		if shared {
			fmt.Fprintln(out, "checkout: the directory is used as it is (--shared-workspace)")
		} else {
			fmt.Fprintln(out, "checkout: the job's workspace is checked out already")
		}
		return nil
	case lathe.ActionUpload:
		return r.upload(ws, job, a, out)
	case lathe.ActionDownload:
		if shared {
			if !r.uploads.has(a.Name) {
				return fmt.Errorf("download %s: no job of this run uploaded %s", a.Name, a.Name)
			}
			fmt.Fprintf(out, "download %s: the shared directory holds it already\n", a.Name)
			return nil
		}
		return r.download(ws, a, out)
	case lathe.ActionArtifacts:
		return r.artifacts(ws, job, a, out)
	case lathe.ActionCacheRestore, lathe.ActionCacheSave:
		fmt.Fprintf(out, "cache %s: not kept on this machine; the job goes on without it\n", a.Key)
		return nil
	case lathe.ActionTool:
		return fmt.Errorf("tool %s: tools are published on a server and run by its agents; lathe exec cannot run this step", a.Tool)
	}
	return fmt.Errorf("%s: lathe exec does not know this action", a.Kind)
}

// upload packs what the globs match into the run's upload of that name.
// As on a server, only the job that first uploaded a name may replace it.
func (r *run) upload(ws, job string, a *lathe.StepAction, out io.Writer) error {
	if err := r.uploads.claim(a.Name, job); err != nil {
		return fmt.Errorf("upload %s: %w", a.Name, err)
	}
	note := func(line string) { fmt.Fprintf(out, "upload %s: %s\n", a.Name, line) }
	p, err := r.store.path("uploads", a.Name+".tar.gz")
	if err != nil {
		return fmt.Errorf("upload %s: %w", a.Name, err)
	}
	f, err := os.CreateTemp(pathDir(p), ".upload-*")
	if err != nil {
		return fmt.Errorf("upload %s: %w", a.Name, err)
	}
	defer os.Remove(f.Name())
	what, err := agent.Pack(f, ws, a.Paths, note)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), p)
	}
	if err != nil {
		return fmt.Errorf("upload %s: %w", a.Name, err)
	}
	r.uploads.done(a.Name)
	fmt.Fprintf(out, "upload %s: %s kept in %s\n", a.Name, what, r.rel(p))
	return nil
}

// download unpacks the run's upload of the name into the workspace.
func (r *run) download(ws string, a *lathe.StepAction, out io.Writer) error {
	if !r.uploads.has(a.Name) {
		return fmt.Errorf("download %s: no job of this run uploaded %s (an upload step of a job this one needs must come first)", a.Name, a.Name)
	}
	p, err := r.store.path("uploads", a.Name+".tar.gz")
	if err != nil {
		return fmt.Errorf("download %s: %w", a.Name, err)
	}
	f, err := os.Open(p)
	if err != nil {
		return fmt.Errorf("download %s: %w", a.Name, err)
	}
	defer f.Close()
	what, err := agent.Unpack(f, ws)
	if err != nil {
		return fmt.Errorf("download %s: %w", a.Name, err)
	}
	fmt.Fprintf(out, "download %s: %s unpacked into the workspace\n", a.Name, what)
	return nil
}

// artifacts copies what the globs match into the run's artifacts/JOB.
// Matching nothing is a warning, as on an agent.
func (r *run) artifacts(ws, job string, a *lathe.StepAction, out io.Writer) error {
	note := func(line string) { fmt.Fprintf(out, "artifacts: %s\n", line) }
	dst, err := r.store.path("artifacts", strings.ReplaceAll(job, "/", "_"))
	if err != nil {
		return fmt.Errorf("artifacts: %w", err)
	}
	pr, pw := io.Pipe()
	packed := make(chan error, 1)
	go func() {
		_, err := agent.Pack(pw, ws, a.Paths, note)
		pw.CloseWithError(err)
		packed <- err
	}()
	if err := os.MkdirAll(dst, 0o755); err != nil {
		pr.CloseWithError(err)
		<-packed
		return fmt.Errorf("artifacts: %w", err)
	}
	what, uerr := agent.Unpack(pr, dst)
	pr.Close()
	perr := <-packed
	switch {
	case errors.Is(perr, agent.ErrNoFiles):
		note("warning: " + perr.Error() + "; nothing kept")
		os.Remove(dst)
		return nil
	case perr != nil:
		return fmt.Errorf("artifacts: %w", perr)
	case uerr != nil:
		return fmt.Errorf("artifacts: %w", uerr)
	}
	fmt.Fprintf(out, "artifacts: %s kept in %s\n", what, r.rel(dst))
	return nil
}

// uploads records which job uploaded each name, as the server does.
type uploads struct {
	mu    sync.Mutex
	owner map[string]string // name → the job that uploaded it first
	ready map[string]bool   // names whose archive is complete
}

// claim lets job upload name unless another job did.
func (u *uploads) claim(name, job string) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.owner == nil {
		u.owner, u.ready = map[string]string{}, map[string]bool{}
	}
	if o, ok := u.owner[name]; ok && o != job {
		return fmt.Errorf("job %s uploaded %s already; only it may replace it", o, name)
	}
	u.owner[name] = job
	return nil
}

func (u *uploads) done(name string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.ready[name] = true
}

func (u *uploads) has(name string) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.ready[name]
}

func pathDir(p string) string { return filepath.Dir(p) }
