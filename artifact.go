package lathe

import (
	"fmt"
	"io/fs"
	"strings"
	"time"
)

// Artifact is a file a job kept (its `artifacts:`), uploaded by the agent
// once the job's steps ended. Its path is where it was in the workspace;
// the server stores it under a key made from its own ID, never the path.
type Artifact struct {
	ID        int64  `json:"id"`
	RunID     int64  `json:"run_id"`
	ProjectID int64  `json:"project_id"`
	Pipeline  string `json:"pipeline"`
	Branch    string `json:"branch,omitempty"`
	JobID     int64  `json:"job_id"`
	Job       string `json:"job"`
	AttemptID int64  `json:"attempt_id"`
	Attempt   int    `json:"attempt"`
	// Path is the file's path relative to the workspace, '/'-separated.
	Path string `json:"path"`
	// Size is its size in bytes; SHA256 its hex SHA-256.
	Size      int64     `json:"size"`
	SHA256    string    `json:"sha256"`
	CreatedAt time.Time `json:"created_at"`
	// ExpiresAt is when the retention sweep removes its content (from the
	// job's `expire_in`, else its branch's policy when it was stored); nil
	// keeps it. Expired is set once the content is gone: the record stays.
	ExpiresAt *time.Time `json:"expires_at"`
	Expired   bool       `json:"expired"`
	// BlobKey is where the server keeps the content; never sent.
	BlobKey string `json:"-"`
}

// Artifact upload headers. The agent hashes a file as it sends it, so the
// SHA-256 comes as a trailer (declared in the Trailer header; a header
// works too), and the size, which a chunked body has no Content-Length
// for, as ArtifactSizeHeader.
const (
	ArtifactSHA256Header = "Lathe-Artifact-SHA256"
	ArtifactSizeHeader   = "Lathe-Artifact-Size"
)

// MaxArtifactPathLen bounds an artifact's path.
const MaxArtifactPathLen = 1024

// CheckArtifactPath says why p cannot name an artifact, or returns nil: it
// must be a clean relative '/'-separated path inside the workspace, with
// no '..', no empty, '.' or NUL-holding part, no backslash, and not in the
// workspace's git metadata.
func CheckArtifactPath(p string) error {
	switch {
	case p == "" || len(p) > MaxArtifactPathLen:
		return fmt.Errorf("artifact path %q: must be 1 to %d bytes", p, MaxArtifactPathLen)
	case strings.ContainsRune(p, 0):
		return fmt.Errorf("artifact path %q: must not contain a NUL byte", p)
	case strings.HasPrefix(p, "/"):
		return fmt.Errorf("artifact path %q: absolute paths are refused; paths are relative to the workspace", p)
	case strings.Contains(p, `\`):
		return fmt.Errorf("artifact path %q: must not contain '\\'; separate directories with '/'", p)
	}
	for _, part := range strings.Split(p, "/") {
		if part == ".." {
			return fmt.Errorf("artifact path %q: '..' would leave the workspace", p)
		}
	}
	switch {
	case !fs.ValidPath(p) || p == ".":
		return fmt.Errorf("artifact path %q: not a clean relative path (no empty or '.' parts, no trailing '/')", p)
	case p == ".git" || strings.HasPrefix(p, ".git/"):
		return fmt.Errorf("artifact path %q: the workspace's git metadata is not kept", p)
	}
	for _, c := range p {
		if c < 0x20 || c == 0x7f {
			return fmt.Errorf("artifact path %q: control characters are refused", p)
		}
	}
	return nil
}

// Cache is a saved set of directories (a job's `cache:`), restored into
// later jobs of the project whose key matches. Caches made by untrusted
// runs live in a scope of their own, never restored into trusted runs.
type Cache struct {
	ID        int64  `json:"id"`
	ProjectID int64  `json:"project_id"`
	Key       string `json:"key"`
	// Untrusted is set on a cache an untrusted run saved.
	Untrusted  bool      `json:"untrusted"`
	Size       int64     `json:"size"`
	SHA256     string    `json:"sha256"`
	CreatedAt  time.Time `json:"created_at"`
	LastUsedAt time.Time `json:"last_used_at"`
}

// Headers of the cache routes of the agent protocol.
const (
	// CacheSHA256Header carries a cache archive's hex SHA-256.
	CacheSHA256Header = "Lathe-Cache-SHA256"
	// CacheKeyHeader names the key of the cache a restore found.
	CacheKeyHeader = "Lathe-Cache-Key"
)

// MaxCacheKeyLen bounds a cache key.
const MaxCacheKeyLen = 200

// CheckCacheKey says why key cannot be a cache key (or a restore prefix),
// or returns nil: 1 to MaxCacheKeyLen letters, digits, '.', '_', '-', '+'
// or '/'.
func CheckCacheKey(key string) error {
	if key == "" || len(key) > MaxCacheKeyLen {
		return fmt.Errorf("cache key %q: must be 1 to %d characters", key, MaxCacheKeyLen)
	}
	for _, c := range []byte(key) {
		if !cacheKeyByte(c) {
			return fmt.Errorf("cache key %q: %q is not allowed: use letters, digits, '.', '_', '-', '+' or '/'", key, c)
		}
	}
	return nil
}

func cacheKeyByte(c byte) bool {
	return uploadNameByte(c) || c == '+' || c == '/'
}
