package api

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/blob"
	"github.com/lathe-ci/lathe/tool"
)

// Tools: reusable steps (a step's `uses: NAME@VERSION`) that admins
// publish as gzipped tar archives holding a lathe-tool.yml manifest. Every
// signed-in user may list and read them; agents fetch the archive of a
// tool a running attempt uses. Only admins publish and delete: a tool runs
// inside the jobs of every project that uses it, with their secrets, so
// publishing one is like changing shared code. A version is never
// replaced: delete it and publish it again, or publish a new version.

// DefaultMaxTool bounds one tool archive unless SetTools says otherwise.
// The archive is held in memory while it is checked.
const DefaultMaxTool = 64 << 20

// toolFiles is where tool archives are kept.
type toolFiles struct {
	blobs blob.Store // nil: the server keeps no tools
	max   int64
}

// SetTools keeps tool archives in blobs, each at most maxBytes (zero:
// DefaultMaxTool). Call it before serving; without it publishing is refused.
func (s *Server) SetTools(blobs blob.Store, maxBytes int64) {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxTool
	}
	s.tools = toolFiles{blobs: blobs, max: maxBytes}
}

// toolKey is the blob key of a tool version's archive: a digest of
// "NAME@VERSION" (a version may hold '+', which keys do not) and the
// content's SHA-256.
func toolKey(name, version, sum string) string {
	d := sha256.Sum256([]byte(name + "@" + version))
	return hex.EncodeToString(d[:16]) + "/" + sum + ".tar.gz"
}

// publishTool stores the body, a gzipped tar archive, as the version its
// manifest names. A Lathe-Tool-SHA256 header, when sent, must match.
func (s *Server) publishTool(w http.ResponseWriter, r *http.Request) error {
	if s.tools.blobs == nil {
		return problemf(http.StatusServiceUnavailable, "this server keeps no tools")
	}
	want := r.Header.Get(lathe.ToolSHA256Header)
	if want != "" && !hexSHA256().MatchString(want) {
		return problemf(http.StatusBadRequest, "%s: send the archive's SHA-256 as 64 lower-case hex digits", lathe.ToolSHA256Header)
	}
	if r.ContentLength > s.tools.max {
		return problemf(http.StatusRequestEntityTooLarge, "tool archive: larger than the %d bytes this server accepts", s.tools.max)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.tools.max))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return problemf(http.StatusRequestEntityTooLarge, "tool archive: larger than the %d bytes this server accepts", s.tools.max)
	case err != nil:
		return problemf(http.StatusBadRequest, "tool archive: reading the body: %v", err)
	}
	d := sha256.Sum256(body)
	sum := hex.EncodeToString(d[:])
	if want != "" && want != sum {
		return problemf(http.StatusBadRequest, "tool archive: its SHA-256 is %s, %s says %s: it was damaged on the way", sum, lathe.ToolSHA256Header, want)
	}
	m, err := tool.Inspect(bytes.NewReader(body), tool.DefaultLimits)
	if err != nil {
		return problemf(http.StatusBadRequest, "%v", err)
	}
	manifest, err := json.Marshal(m)
	if err != nil {
		return err
	}
	t := &lathe.Tool{Name: m.Name, Version: m.Version, Description: m.Description, Manifest: manifest,
		Size: int64(len(body)), SHA256: sum, BlobKey: toolKey(m.Name, m.Version, sum), CreatedBy: principal(r.Context()).User}
	if _, err := s.tools.blobs.Put(r.Context(), t.BlobKey, bytes.NewReader(body), blob.Want{Size: t.Size, SHA256: sum}); err != nil {
		return fmt.Errorf("tool %s: store the archive: %w", m.Ref(), err)
	}
	if err := s.store.PutTool(r.Context(), t); err != nil {
		// Keep the archive only if the version on record is this very content.
		if cur, cerr := s.store.Tool(r.Context(), t.Name, t.Version); cerr != nil || cur.BlobKey != t.BlobKey {
			s.tools.blobs.Delete(r.Context(), t.BlobKey)
		}
		return err
	}
	s.audit(r, principal(r.Context()).User, "tool.published", nil, map[string]any{"tool": m.Ref(), "sha256": sum})
	writeJSON(w, http.StatusCreated, t)
	return nil
}

// toolList is the answer to listTools and listToolVersions.
type toolList struct {
	Items []*lathe.Tool `json:"items"`
}

// listTools lists every published tool version, by name then newest first.
func (s *Server) listTools(w http.ResponseWriter, r *http.Request) error {
	list, err := s.store.Tools(r.Context(), "")
	return respond(w, http.StatusOK, toolList{Items: list}, err)
}

// listToolVersions lists the versions of the tool {name}, newest first.
func (s *Server) listToolVersions(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	list, err := s.store.Tools(r.Context(), name)
	if err == nil && len(list) == 0 {
		return problemf(http.StatusNotFound, "no version of tool %q is published", name)
	}
	return respond(w, http.StatusOK, toolList{Items: list}, err)
}

// getTool answers one version of a tool.
func (s *Server) getTool(w http.ResponseWriter, r *http.Request) error {
	t, err := s.store.Tool(r.Context(), r.PathValue("name"), r.PathValue("version"))
	return respond(w, http.StatusOK, t, err)
}

// deleteTool removes a tool version and its archive. Runs planned with it
// already fail at that step with the reason; new runs that use it are
// refused when they are planned.
func (s *Server) deleteTool(w http.ResponseWriter, r *http.Request) error {
	t, err := s.store.DeleteTool(r.Context(), r.PathValue("name"), r.PathValue("version"))
	if err != nil {
		return err
	}
	if s.tools.blobs != nil {
		if err := s.tools.blobs.Delete(r.Context(), t.BlobKey); err != nil {
			slogFrom(r).Warn("remove deleted tool's archive", "tool", t.Name+"@"+t.Version, "err", err)
		}
	}
	s.audit(r, principal(r.Context()).User, "tool.deleted", nil, map[string]any{"tool": t.Name + "@" + t.Version, "sha256": t.SHA256})
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// getToolArchive sends an agent the archive of a tool version for one of
// its running attempts, with its SHA-256 in Lathe-Tool-SHA256.
func (s *Server) getToolArchive(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "attempt")
	if err != nil {
		return err
	}
	if _, err := s.store.AttemptScope(r.Context(), principal(r.Context()).Agent.ID, id); err != nil {
		return attemptProblem(w, id, err)
	}
	if s.tools.blobs == nil {
		return problemf(http.StatusServiceUnavailable, "this server keeps no tools")
	}
	t, err := s.store.Tool(r.Context(), r.PathValue("name"), r.PathValue("version"))
	if err != nil {
		return err
	}
	f, err := s.tools.blobs.Get(r.Context(), t.BlobKey, 0, t.Size)
	if err != nil {
		return fmt.Errorf("tool %s@%s: its archive is missing: %w", t.Name, t.Version, err)
	}
	defer f.Close()
	w.Header().Set("Content-Type", "application/gzip")
	w.Header().Set("Content-Length", strconv.FormatInt(t.Size, 10))
	w.Header().Set(lathe.ToolSHA256Header, t.SHA256)
	w.WriteHeader(http.StatusOK)
	if _, err := io.CopyN(w, f, t.Size); err != nil && r.Context().Err() == nil {
		slogFrom(r).Warn("send tool", "tool", t.Name+"@"+t.Version, "err", err)
	}
	return nil
}
