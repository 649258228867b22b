package server_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/internal/lathetest"
)

var blobName = regexp.MustCompile(`^[0-9a-f]{24}-[0-9a-f]{24}$`)

// A malicious agent (or a bug) sending artifact paths that could leave the
// workspace, or land anywhere but under server-made keys, is refused with
// 400 naming the problem, whatever way the path is written in the query;
// nothing is stored, and a good path after them is stored under a key
// made of IDs and digests only.
func TestArtifactPathsThatCouldEscapeAreRefused(t *testing.T) {
	l := lathetest.Start(t, lathetest.Options{Agents: -1})
	heldJobProject(t, l, "evil")
	holder := l.StartAgent(t, l.RegistrationToken(t), "holder", "", "holder")
	run := l.Trigger(t, "evil", "main", "")
	attemptID := waitForRunningAttempt(t, l, run)
	body := []byte("payload")
	sum := sha256.Sum256(body)
	good := hex.EncodeToString(sum[:])
	var putSum func(rawQuery, sum string) (int, string)
	put := func(rawQuery string) (int, string) { t.Helper(); return putSum(rawQuery, good) }
	putSum = func(rawQuery, sum string) (int, string) {
		t.Helper()
		req, err := http.NewRequest(http.MethodPut, fmt.Sprintf("%s/api/v1/agent/attempts/%d/artifacts?%s", l.URL, attemptID, rawQuery), bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+holder.Token)
		req.Header.Set(lathe.ArtifactSHA256Header, sum)
		resp, err := lathetest.HTTPClient(t).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, c := range []struct{ query, want string }{
		{"path=..%2F..%2Fetc%2Fpasswd", "'..' would leave the workspace"},
		{"path=a%2F..%2F..%2Fb", "'..' would leave the workspace"},
		{"path=..", "'..' would leave the workspace"},
		{"path=%2Fetc%2Fpasswd", "absolute paths are refused"},
		{"path=%2F%2Fhost%2Fshare", "absolute paths are refused"},
		{"path=a%00b", "NUL"},
		{"path=..%5C..%5Cwindows", `'\\'`},
		{"path=dist%5Capp", `'\\'`},
		{"path=.git%2Fconfig", "git metadata"},
		{"path=.git", "git metadata"},
		{"path=a%2F%2Fb", "not a clean relative path"},
		{"path=.%2Fa", "not a clean relative path"},
		{"path=a%2F", "not a clean relative path"},
		{"path=.", "not a clean relative path"},
		{"path=a%0Ab", "control characters"},
		{"path=" + strings.Repeat("a", 1025), "1 to 1024"},
		{"path=", "1 to 1024"},
		{"", "1 to 1024"},
		{"path=%252e%252e%252fx", ""}, // "%2e%2e%2fx" once decoded: a plain (odd) name, stored as such
	} {
		code, b := put(c.query)
		if c.want == "" {
			if code != http.StatusCreated {
				t.Errorf("path %s = %d %s; want 201 (a name with %% signs is only a name)", c.query, code, b)
			}
			continue
		}
		if code != http.StatusBadRequest || !strings.Contains(b, c.want) {
			t.Errorf("path %s = %d %s; want 400 saying %q", c.query, code, b, c.want)
		}
	}
	if code, b := putSum("path=bad.bin", strings.Repeat("0", 64)); code != http.StatusBadRequest || !strings.Contains(b, "damaged") {
		t.Errorf("a body that does not hash to its SHA-256 = %d %s; want 400", code, b)
	}
	// Chunked, as the agent sends: the size in a header, the SHA-256 in a trailer.
	chunked := func(size, trailer string) (int, string) {
		t.Helper()
		req, err := http.NewRequest(http.MethodPut, fmt.Sprintf("%s/api/v1/agent/attempts/%d/artifacts?path=chunked.bin", l.URL, attemptID),
			io.NopCloser(bytes.NewReader(body)))
		if err != nil {
			t.Fatal(err)
		}
		req.ContentLength = -1
		req.Trailer = http.Header{lathe.ArtifactSHA256Header: {trailer}}
		req.Header.Set("Authorization", "Bearer "+holder.Token)
		req.Header.Set(lathe.ArtifactSizeHeader, size)
		resp, err := lathetest.HTTPClient(t).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, b := chunked(fmt.Sprint(len(body)), strings.Repeat("1", 64)); code != http.StatusBadRequest || !strings.Contains(b, "damaged") {
		t.Errorf("a chunked body whose trailer is not its SHA-256 = %d %s; want 400", code, b)
	}
	if code, b := chunked("3", good); code != http.StatusBadRequest || !strings.Contains(b, "damaged") {
		t.Errorf("a chunked body longer than its declared size = %d %s; want 400", code, b)
	}
	if code, b := chunked("", good); code != http.StatusBadRequest || !strings.Contains(b, lathe.ArtifactSizeHeader) {
		t.Errorf("a chunked body without its size = %d %s; want 400", code, b)
	}
	if code, b := put("path=dist%2Fok.bin"); code != http.StatusCreated {
		t.Fatalf("a good path = %d %s", code, b)
	}
	// Only server-made keys exist: <run>/<attempt>/<path digest>-<random>.
	var stored []string
	filepath.WalkDir(filepath.Join(l.DataDir, "artifacts"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(filepath.Join(l.DataDir, "artifacts"), p)
			stored = append(stored, rel)
		}
		return nil
	})
	if len(stored) != 2 {
		t.Fatalf("stored artifact blobs = %q; want the 2 accepted", stored)
	}
	for _, s := range stored {
		parts := strings.Split(s, string(filepath.Separator))
		if len(parts) != 3 || parts[0] != fmt.Sprint(run.ID) || parts[1] != fmt.Sprint(attemptID) || !blobName.MatchString(parts[2]) {
			t.Errorf("blob %q is not named by IDs and digests", s)
		}
	}
	if _, err := os.Stat(filepath.Join(l.DataDir, "etc")); err == nil {
		t.Errorf("something was written outside the artifacts directory")
	}
	releaseHeldJob(t, holder, attemptID)
	if done := l.Wait(t, run.ID, 60*time.Second); done.Status != lathe.StatusSuccess {
		t.Fatalf("run = %s", done.Status)
	}
	if code, b := put("path=late.bin"); code != http.StatusGone {
		t.Errorf("an artifact after the attempt finished = %d %s; want 410", code, b)
	}
}
