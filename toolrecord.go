package lathe

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"
)

// ToolNamePattern is a tool's name; ToolVersionPattern one of its versions.
var (
	ToolNamePattern    = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,62}$`) })
	ToolVersionPattern = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._+-]{0,62}$`) })
)

// ParseToolRef splits a step's `uses:` "NAME@VERSION", checking both parts.
func ParseToolRef(ref string) (name, version string, err error) {
	name, version, ok := strings.Cut(ref, "@")
	switch {
	case !ok:
		return "", "", fmt.Errorf("%q: write the tool as NAME@VERSION", ref)
	case !ToolNamePattern().MatchString(name):
		return "", "", fmt.Errorf("%q: tool name %q: must be lower-case letters, digits, '.', '_' or '-', starting with a letter or digit", ref, name)
	case !ToolVersionPattern().MatchString(version):
		return "", "", fmt.Errorf("%q: version %q: must be letters, digits, '.', '_', '+' or '-', starting with a letter or digit", ref, version)
	}
	return name, version, nil
}

// Tool is one published version of a reusable tool: a named, versioned
// step a pipeline runs as `uses: NAME@VERSION` (see package tool).
type Tool struct {
	ID          int64  `json:"id"`
	Name        string `json:"name"`
	Version     string `json:"version"`
	Description string `json:"description"`
	// Manifest is the tool's lathe-tool.yml as JSON (tool.Manifest).
	Manifest json.RawMessage `json:"manifest"`
	// Size is the archive's size in bytes; SHA256 its hex SHA-256.
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
	// BlobKey is where the archive is kept; the server's business.
	BlobKey   string    `json:"-"`
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
}

// ToolSHA256Header carries a tool archive's hex SHA-256: a publisher may
// send it with the archive (the server refuses a body that does not match),
// and the server sends it with the archive to agents, which check it.
const ToolSHA256Header = "Lathe-Tool-SHA256"
