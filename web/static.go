package web

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"net/http"
	"path"
	"sync"
)

//go:embed static
var staticFS embed.FS

// staticVersion is a hash of every static file: it is in their URLs
// (/static/VERSION/lathe.js), so a browser may keep them for a year and
// still never runs an old script against new pages. It is computed on
// first use, not at package initialisation: every lathe process (exec,
// lint, the client commands) links this package, few serve a page.
var staticVersion = sync.OnceValue(func() string {
	h := sha256.New()
	entries, err := staticFS.ReadDir("static")
	if err != nil {
		panic(err)
	}
	for _, e := range entries {
		b, _ := staticFS.ReadFile("static/" + e.Name())
		h.Write([]byte(e.Name()))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))[:12]
})

func staticPath(name string) string { return "/static/" + staticVersion() + "/" + name }

var staticTypes = map[string]string{".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8",
	".svg": "image/svg+xml"}

// static serves the stylesheet and the script: cached for a year at the
// current version's URL, revalidated at any other.
func (h *Handler) static(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("file")
	b, err := staticFS.ReadFile("static/" + name)
	if err != nil || path.Base(name) != name {
		return &Error{Status: http.StatusNotFound, Detail: "There is no file " + name + "."}
	}
	version := staticVersion()
	if r.PathValue("version") == version {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		w.Header().Set("Cache-Control", "no-cache")
	}
	w.Header().Set("ETag", `"`+version+`"`)
	if r.Header.Get("If-None-Match") == `"`+version+`"` {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	w.Header().Set("Content-Type", staticTypes[path.Ext(name)])
	w.Write(b)
	return nil
}
