package agent

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"regexp"
	"strings"
	"sync"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/client"
)

// Caches: before the steps, the agent evaluates a cache's key over the
// checkout and restores the newest cache whose key matches (exactly, then
// each restore prefix); after a successful job it saves the cache's paths
// under that key unless the restore found it exactly. A path under ~ is in
// the job's own HOME, any other in the workspace; the archive names them
// home/… and ws/…, and restoring writes through neither a link nor "..".

// cacheState is what a job's cache restore tells its save: the key each
// cache (by key template) was evaluated to, and whether it was restored
// exactly.
type cacheState struct {
	keys map[string]string
	hits map[string]bool
}

var hashFilesCall = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`\{\{\s*hashFiles\(([^)]*)\)\s*\}\}`) })

// cacheKey evaluates a key template over the workspace: each
// `{{ hashFiles('glob', …) }}` becomes the hash of the files the globs
// match.
func cacheKey(tmpl, ws string) (string, error) {
	var ferr error
	key := hashFilesCall().ReplaceAllStringFunc(tmpl, func(call string) string {
		args := hashFilesCall().FindStringSubmatch(call)[1]
		var globs []string
		for _, a := range strings.Split(args, ",") {
			a = strings.Trim(strings.TrimSpace(a), `'"`)
			if a != "" {
				globs = append(globs, a)
			}
		}
		for _, g := range globs {
			if err := checkGlob(g); err != nil && ferr == nil {
				ferr = err
			}
		}
		if ferr != nil {
			return ""
		}
		sum, err := hashFiles(ws, globs)
		if err != nil && ferr == nil {
			ferr = err
		}
		return sum
	})
	if ferr != nil {
		return "", fmt.Errorf("key %q: hashFiles: %w", tmpl, ferr)
	}
	if err := lathe.CheckCacheKey(key); err != nil {
		return "", err
	}
	return key, nil
}

// cacheRoots splits a cache's paths into those of the HOME (a leading ~/)
// and those of the workspace, each a clean relative path.
func cacheRoots(paths []string) (home, ws []string, err error) {
	for _, p := range paths {
		rest, inHome := strings.CutPrefix(p, "~/")
		if p == "~" {
			return nil, nil, fmt.Errorf("path %q: name directories inside the home, not all of it", p)
		}
		if !cleanRel(rest) {
			return nil, nil, fmt.Errorf("path %q: must be a clean path relative to the workspace, or to ~", p)
		}
		if inHome {
			home = append(home, rest)
		} else {
			ws = append(ws, rest)
		}
	}
	return home, ws, nil
}

// cacheRestore restores the newest cache that matches the action's key.
// Finding none is no failure: the job runs without it.
func (a *Agent) cacheRestore(ctx context.Context, jr *jobRun, act *lathe.StepAction, out io.Writer) error {
	key, err := cacheKey(act.Key, jr.ws)
	if err != nil {
		return fmt.Errorf("cache: %w", err)
	}
	jr.caches.keys[act.Key] = key
	tmp, err := a.tempFile("cache-*.tar.gz")
	if err != nil {
		return fmt.Errorf("cache %s: %w", key, err)
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	var found string
	err = a.retryTransfer(ctx, out, "cache "+key, func() error {
		if err := tmp.Truncate(0); err != nil {
			return err
		}
		if _, err := tmp.Seek(0, io.SeekStart); err != nil {
			return err
		}
		c, err := a.Client.RestoreCache(ctx, jr.as.AttemptID, key, act.RestoreKeys)
		if err != nil {
			return err
		}
		defer c.Body.Close()
		h := sha256.New()
		if _, err := io.Copy(io.MultiWriter(tmp, h), c.Body); err != nil {
			return err
		}
		if got := hex.EncodeToString(h.Sum(nil)); got != c.SHA256 {
			return errDamaged{fmt.Sprintf("the archive's SHA-256 is %s, the server recorded %s", got, c.SHA256)}
		}
		found = c.Key
		return nil
	})
	if client.StatusOf(err) == http.StatusNotFound {
		fmt.Fprintf(out, "cache %s: no cache matches; the job runs without one\n", key)
		return nil
	}
	if err != nil {
		return fmt.Errorf("cache %s: %w", key, err)
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return err
	}
	st, err := unpackCache(tmp, jr.home, jr.ws)
	if err != nil {
		return fmt.Errorf("cache %s: %w", found, err)
	}
	for _, dir := range []string{jr.home, jr.ws} {
		if err := jr.job.Own(dir); err != nil {
			return fmt.Errorf("cache %s: give the job the files: %w", found, err)
		}
	}
	jr.caches.hits[act.Key] = found == key
	how := "exact key"
	if found != key {
		how = "restore key; it is saved as " + key + " if the job succeeds"
	}
	fmt.Fprintf(out, "cache %s: restored %s (%s)\n", found, st, how)
	return nil
}

// cacheSave saves the action's paths under the key its restore evaluated,
// unless that restore found the key itself.
func (a *Agent) cacheSave(ctx context.Context, jr *jobRun, act *lathe.StepAction, out io.Writer) error {
	key, ok := jr.caches.keys[act.Key]
	if !ok {
		return fmt.Errorf("cache %s: its restore step did not run", act.Key)
	}
	if jr.caches.hits[act.Key] {
		fmt.Fprintf(out, "cache %s: restored with its exact key; not saved again\n", key)
		return nil
	}
	tmp, err := a.tempFile("cache-*.tar.gz")
	if err != nil {
		return fmt.Errorf("cache %s: %w", key, err)
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	h := sha256.New()
	st, err := packCache(io.MultiWriter(tmp, h), jr.home, jr.ws, act.Paths, func(line string) {
		fmt.Fprintf(out, "cache %s: %s\n", key, line)
	})
	if errors.Is(err, errNothingCached) {
		fmt.Fprintf(out, "cache %s: none of %s exists; nothing saved\n", key, strings.Join(act.Paths, ", "))
		return nil
	}
	if err != nil {
		return fmt.Errorf("cache %s: %w", key, err)
	}
	size, err := tmp.Seek(0, io.SeekCurrent)
	if err != nil {
		return err
	}
	sum := hex.EncodeToString(h.Sum(nil))
	err = a.retryTransfer(ctx, out, "cache "+key, func() error {
		_, err := a.Client.SaveCache(ctx, jr.as.AttemptID, key, io.NewSectionReader(tmp, 0, size), size, sum)
		return err
	})
	if client.StatusOf(err) == http.StatusConflict {
		fmt.Fprintf(out, "cache %s: another job saved this key first; kept theirs\n", key)
		return nil
	}
	if err != nil {
		return fmt.Errorf("cache %s: %w", key, err)
	}
	fmt.Fprintf(out, "cache %s: saved %s (%s archive)\n", key, st, byteSize(size))
	return nil
}

var errNothingCached = errors.New("nothing to cache")

// packCache writes a gzipped tar of the cache's paths: those under ~ from
// home as home/…, the others from the workspace as ws/…. Paths that do not
// exist are left out; none existing is errNothingCached.
func packCache(w io.Writer, home, ws string, paths []string, note func(string)) (archiveStats, error) {
	var st archiveStats
	homePaths, wsPaths, err := cacheRoots(paths)
	if err != nil {
		return st, err
	}
	gz, err := gzip.NewWriterLevel(w, gzip.BestSpeed)
	if err != nil {
		return st, err
	}
	tw := tar.NewWriter(gz)
	any := false
	for _, part := range []struct {
		dir, prefix string
		paths       []string
	}{{home, "home/", homePaths}, {ws, "ws/", wsPaths}} {
		var present []string
		for _, p := range part.paths {
			if _, err := os.Lstat(part.dir + "/" + p); err == nil {
				present = append(present, p)
			}
		}
		if len(present) == 0 {
			continue
		}
		root, err := os.OpenRoot(part.dir)
		if err != nil {
			return st, err
		}
		kinds, err := matchGlobs(root, present, note)
		if err != nil {
			root.Close()
			return st, err
		}
		got, err := writeEntries(tw, root, part.prefix, kinds)
		root.Close()
		if err != nil {
			return st, err
		}
		any = true
		st.Files, st.Dirs, st.Bytes = st.Files+got.Files, st.Dirs+got.Dirs, st.Bytes+got.Bytes
	}
	if !any {
		return st, errNothingCached
	}
	if err := tw.Close(); err != nil {
		return st, err
	}
	return st, gz.Close()
}

// unpackCache extracts a cache archive: home/… into home, ws/… into the
// workspace (never its git metadata).
func unpackCache(r io.Reader, home, ws string) (archiveStats, error) {
	homeRoot, err := os.OpenRoot(home)
	if err != nil {
		return archiveStats{}, err
	}
	defer homeRoot.Close()
	wsRoot, err := os.OpenRoot(ws)
	if err != nil {
		return archiveStats{}, err
	}
	defer wsRoot.Close()
	return unpackTo(r, func(name string) (*os.Root, string, error) {
		top, rest, _ := strings.Cut(name, "/")
		switch {
		case rest == "":
			return nil, "", nil // home/ or ws/ itself
		case top == "home":
			return homeRoot, rest, nil
		case top == "ws" && (rest == gitDir || strings.HasPrefix(rest, gitDir+"/")):
			return nil, "", fmt.Errorf("the workspace's git metadata is not overwritten")
		case top == "ws":
			return wsRoot, rest, nil
		}
		return nil, "", fmt.Errorf("not under home/ or ws/: %w", fs.ErrInvalid)
	}, defaultUnpackLimits)
}
