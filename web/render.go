package web

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	lathe "github.com/lathe-ci/lathe"
)

//go:embed templates
var templateFS embed.FS

// pages are the parsed templates: each page is base.html and parts.html
// with the page's own file, which defines "title" and "main".
type pages struct {
	byName map[string]*template.Template
	log    *slog.Logger
}

func parsePages(log *slog.Logger) *pages {
	p := &pages{byName: map[string]*template.Template{}, log: log}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		panic(err)
	}
	for _, n := range names {
		name := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if name == "base" || name == "parts" {
			continue
		}
		// A template that does not parse is a mistake in this package,
		// caught by every test that starts a server.
		p.byName[name] = template.Must(template.New(name).Funcs(funcs).Funcs(resultFuncs).ParseFS(templateFS,
			"templates/base.html", "templates/parts.html", n))
	}
	return p
}

// view is what every page's template gets: the page's own data in Data,
// and what the layout needs (the user, the forms' CSRF token).
type view struct {
	Title string
	User  *lathe.User
	CSRF  string
	// Path is the page's path, for the sign-in link to come back to.
	Path string
	Data any
}

// pageHandler serves one page or form: it writes its answer, or returns
// the error the error page shows.
type pageHandler func(w http.ResponseWriter, r *http.Request) error

// render writes page name with data, for user (nil: signed out).
func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, name, title string, user *lathe.User, data any) error {
	t := h.pages.byName[name]
	if t == nil {
		return fmt.Errorf("no template %q", name)
	}
	var buf bytes.Buffer
	v := view{Title: title, User: user, CSRF: csrfToken(w, r), Path: r.URL.RequestURI(), Data: data}
	if err := t.ExecuteTemplate(&buf, "base", v); err != nil {
		return fmt.Errorf("render %s: %w", name, err)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	// Pages are per user and change with every run: never cached.
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
	return nil
}

// adapt turns a page handler into an http.Handler: an error becomes the
// error page (a 401 the sign-in page).
func (h *Handler) adapt(fn pageHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := fn(w, r); err != nil {
			h.pages.fail(w, r, h.viewer(r), err)
		}
	})
}

// fail answers with the error page; a 401 sends a GET to the sign-in page
// (and forgets a session the API no longer knows).
func (p *pages) fail(w http.ResponseWriter, r *http.Request, user *lathe.User, err error) {
	var e *Error
	if !errors.As(err, &e) {
		p.log.Error("web page failed", "path", r.URL.Path, "err", err)
		e = &Error{Status: http.StatusInternalServerError, Title: "Something went wrong", Detail: err.Error()}
	}
	if e.Status == http.StatusUnauthorized && r.Method == http.MethodGet {
		if _, cerr := r.Cookie(sessionCookie); cerr == nil {
			clearSession(w, r)
		}
		http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
		return
	}
	if e.Title == "" {
		e.Title = http.StatusText(e.Status)
	}
	t := p.byName["error"]
	var buf bytes.Buffer
	v := view{Title: e.Title, User: user, CSRF: csrfToken(w, r), Path: r.URL.RequestURI(), Data: errorData{Error: e, Back: backTo(r)}}
	if terr := t.ExecuteTemplate(&buf, "base", v); terr != nil {
		http.Error(w, e.Detail, e.Status)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(e.Status)
	w.Write(buf.Bytes())
}

// errorData is what the error page shows: the error, and the page a
// refused form was sent from, to go back to.
type errorData struct {
	*Error
	Back string
}

// backTo is the page of this server a refused form was posted from (its
// Referer), or "".
func backTo(r *http.Request) string {
	if r.Method != http.MethodPost {
		return ""
	}
	u, err := url.Parse(r.Referer())
	if err != nil || u.Host != r.Host || u.Path == "" {
		return ""
	}
	if back := safeNext(u.RequestURI()); back != "/" {
		return back
	}
	return ""
}

func clearSession(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: r.TLS != nil})
}

// viewer is the signed-in user as the API knows it, or nil.
func (h *Handler) viewer(r *http.Request) *lathe.User {
	if c, err := r.Cookie(sessionCookie); err != nil || c.Value == "" {
		return nil
	}
	var u lathe.User
	if _, err := h.call(r, http.MethodGet, "/api/v1/users/me", nil, &u); err != nil {
		return nil
	}
	return &u
}

// statusInfo is how a status shows: a symbol and its word, never colour alone.
type statusInfo struct {
	Status lathe.Status
	Symbol string
	Label  string
}

var statusSymbols = map[lathe.Status]string{
	lathe.StatusPending: "○", lathe.StatusWaiting: "‖", lathe.StatusQueued: "◷", lathe.StatusRunning: "▶",
	lathe.StatusSuccess: "✓", lathe.StatusFailed: "✗", lathe.StatusCanceled: "⊘", lathe.StatusSkipped: "↷",
	lathe.StatusLost: "?", lathe.StatusTimedOut: "⊠",
}

// status takes a lathe.Status, or a string ("" for no status).
func status(v any) statusInfo {
	var s lathe.Status
	switch v := v.(type) {
	case lathe.Status:
		s = v
	case string:
		s = lathe.Status(v)
	}
	label := strings.ReplaceAll(string(s), "_", " ")
	if s == "" {
		label = "no runs"
	}
	sym, ok := statusSymbols[s]
	if !ok {
		sym = "·"
	}
	return statusInfo{Status: s, Symbol: sym, Label: label}
}

// duration formats milliseconds as 1h2m, 3m4s, 5.2s or 12ms.
func duration(ms *int64) string {
	if ms == nil {
		return ""
	}
	return formatDuration(time.Duration(*ms) * time.Millisecond)
}

func formatDuration(d time.Duration) string {
	switch {
	case d < time.Second:
		return fmt.Sprintf("%dms", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%.1fs", d.Seconds())
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	}
	return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
}

func shortCommit(c string) string {
	if len(c) > 10 {
		return c[:10]
	}
	return c
}

func timestamp(t any) string {
	switch t := t.(type) {
	case time.Time:
		return t.UTC().Format("2006-01-02 15:04:05 UTC")
	case *time.Time:
		if t != nil {
			return t.UTC().Format("2006-01-02 15:04:05 UTC")
		}
	}
	return ""
}

func isoTime(t any) string {
	switch t := t.(type) {
	case time.Time:
		return t.UTC().Format(time.RFC3339)
	case *time.Time:
		if t != nil {
			return t.UTC().Format(time.RFC3339)
		}
	}
	return ""
}

var funcs = template.FuncMap{
	"static":   staticPath,
	"status":   status,
	"dstatus":  deployStatus,
	"duration": duration,
	"short":    shortCommit,
	"time":     timestamp,
	"iso":      isoTime,
	"join":     strings.Join,
	"version":  func() string { return lathe.Version },
	"add":      func(a, b int) int { return a + b },
	"query": func(base string, kv ...string) string {
		q := url.Values{}
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i+1] != "" {
				q.Set(kv[i], kv[i+1])
			}
		}
		if len(q) == 0 {
			return base
		}
		return base + "?" + q.Encode()
	},
}
