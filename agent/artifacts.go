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
	"path"
	"slices"
	"strings"

	lathe "github.com/lathe-ci/lathe"
)

// artifacts sends each regular file the action's globs match in the
// workspace as an artifact of the job, one request per file, streamed
// from the file with its size and SHA-256. Links are never followed nor
// sent: a link the globs reach is noted in the log and left out, so no
// file outside the workspace can become an artifact. A path the server
// would refuse is noted and left out too.
func (a *Agent) artifacts(ctx context.Context, as *lathe.Assignment, ws string, act *lathe.StepAction, out io.Writer) error {
	root, err := os.OpenRoot(ws)
	if err != nil {
		return fmt.Errorf("artifacts: open workspace: %w", err)
	}
	defer root.Close()
	note := func(line string) { fmt.Fprintf(out, "artifacts: %s\n", line) }
	kinds, err := matchGlobs(root, act.Paths, note)
	if errors.Is(err, errNoMatch) {
		// As GitLab: a warning, not a failure of a job that did its work.
		note("warning: " + err.Error() + "; nothing kept")
		return nil
	}
	if err != nil {
		return fmt.Errorf("artifacts: %w", err)
	}
	var files []string
	for p, k := range kinds {
		if k.IsDir() {
			continue
		}
		if err := lathe.CheckArtifactPath(p); err != nil {
			note(err.Error() + "; not uploaded")
			continue
		}
		files = append(files, p)
	}
	slices.Sort(files)
	var total int64
	for _, p := range files {
		n, err := a.sendArtifact(ctx, as, root, p, act.ExpireInSec, out)
		if err != nil {
			return fmt.Errorf("artifacts: %s: %w", p, err)
		}
		total += n
	}
	noun := "files"
	if len(files) == 1 {
		noun = "file"
	}
	fmt.Fprintf(out, "artifacts: %d %s stored (%s)\n", len(files), noun, byteSize(total))
	return nil
}

// sendArtifact hashes one file and sends it, as it was when opened.
func (a *Agent) sendArtifact(ctx context.Context, as *lathe.Assignment, root *os.Root, p string, expireIn int64, out io.Writer) (int64, error) {
	f, err := root.Open(p) // inside the workspace whatever a step left running does meanwhile
	if err != nil {
		return 0, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	if !fi.Mode().IsRegular() {
		return 0, errors.New("changed into something other than a regular file")
	}
	size := fi.Size()
	err = a.retryTransfer(ctx, out, "artifact "+p, func() error {
		// Hashed first, at each try (a step left running may still be
		// writing it): the server checks the bytes against it as they come.
		h := sha256.New()
		if _, err := io.Copy(h, io.NewSectionReader(f, 0, size)); err != nil {
			return err
		}
		_, err := a.Client.PutArtifact(ctx, as.AttemptID, p, io.NewSectionReader(f, 0, size), size, hex.EncodeToString(h.Sum(nil)), expireIn)
		return err
	})
	return size, err
}

// hashFiles is the SHA-256 (hex) of the SHA-256s of the regular files the
// globs match in the workspace, in path order: what a cache key's
// `hashFiles(…)` stands for. It is "" when nothing matches, like GitHub's.
func hashFiles(ws string, globs []string) (string, error) {
	root, err := os.OpenRoot(ws)
	if err != nil {
		return "", fmt.Errorf("open workspace: %w", err)
	}
	defer root.Close()
	kinds, err := matchGlobs(root, globs, func(string) {})
	if errors.Is(err, errNoMatch) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	var files []string
	for p, k := range kinds {
		if !k.IsDir() {
			files = append(files, p)
		}
	}
	slices.Sort(files)
	if len(files) == 0 {
		return "", nil
	}
	all := sha256.New()
	for _, p := range files {
		f, err := root.Open(p)
		if err != nil {
			return "", err
		}
		h := sha256.New()
		_, err = io.Copy(h, f)
		f.Close()
		if err != nil {
			return "", fmt.Errorf("%s: %w", p, err)
		}
		all.Write(h.Sum(nil))
	}
	return hex.EncodeToString(all.Sum(nil)), nil
}

// cleanRel reports whether p is a clean relative path (for cache paths).
func cleanRel(p string) bool {
	return p != "" && fs.ValidPath(p) && !slices.Contains(strings.Split(p, "/"), "..") && path.Clean(p) == p
}
