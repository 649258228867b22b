// Package web is Lathe's browser interface: server-rendered pages
// (html/template, embedded with go:embed), one stylesheet and one small
// script for the live parts (EventSource on the API's SSE streams).
//
// The pages hold no permission model of their own: every read and every
// action goes through the API handler, in process, with the signed-in
// user's session as its credential, so a page shows what the API shows that
// user and a button does what the API lets that user do (a 403 from the
// API is the page's 403). The package therefore imports no store and no
// dispatch: it depends on the API's HTTP contract only, and on the domain
// types the API answers with.
//
// A page is one template (templates/NAME.html, defining "title" and
// "main") and one handler that fills it (see page.render).
package web

import (
	"log/slog"
	"net/http"
	"strings"
)

// Handler serves the web UI, and hands every other request (/api/…,
// /healthz, /readyz) to the API.
type Handler struct {
	api   http.Handler
	log   *slog.Logger
	mux   *http.ServeMux
	pages *pages
}

// New returns the UI over the API handler api.
func New(api http.Handler, log *slog.Logger) *Handler {
	if log == nil {
		log = slog.Default()
	}
	h := &Handler{api: api, log: log, mux: http.NewServeMux(), pages: parsePages(log)}
	for _, r := range h.routes() {
		h.mux.Handle(r.pattern, h.adapt(r.handle))
	}
	return h
}

// route is one page or form target of the UI.
type route struct {
	pattern string
	handle  pageHandler
}

func (h *Handler) routes() []route {
	return []route{
		{"GET /{$}", h.home},
		{"GET /login", h.loginPage},
		{"POST /login", h.login},
		{"POST /logout", h.logout},
		{"GET /setup", h.setupPage},
		{"POST /setup", h.setup},
		{"GET /p/{project}", h.project},
		{"GET /p/{project}/run", h.runForm},
		{"POST /p/{project}/runs", h.triggerRun},
		{"GET /runs/{run}", h.run},
		{"POST /runs/{run}/{action}", h.runAction},
		{"GET /jobs/{job}", h.job},
		{"POST /jobs/{job}/{action}", h.jobAction},
		{"GET /agents", h.agents},
		{"POST /agents/{agent}", h.agentAction},
		{"GET /admin/tokens", h.tokens},
		{"POST /admin/tokens", h.tokenAction},
		{"GET /audit", h.audit},
		{"GET /p/{project}/settings", h.settings},
		{"POST /p/{project}/settings/{action}", h.settingsAction},
		{"GET /runs/{run}/tests", h.runTests},
		{"GET /runs/{run}/issues", h.runIssues},
		{"GET /runs/{run}/artifacts", h.runArtifacts},
		{"GET /test-cases/{test_case}", h.testCase},
		{"POST /test-cases/{test_case}/comments", h.addTestComment},
		{"GET /p/{project}/stats", h.stats},
		{"GET /p/{project}/environments", h.environments},
		{"GET /p/{project}/environments/{env}", h.environment},
		{"POST /p/{project}/environments/{env}/{action}", h.environmentAction},
		{"GET /p/{project}/releases/{version}", h.release},
		{"GET /static/{version}/{file}", h.static},
	}
}

// Paths the API answers; everything else is the UI's.
func isAPI(path string) bool {
	return strings.HasPrefix(path, "/api/") || path == "/healthz" || path == "/readyz"
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if isAPI(r.URL.Path) {
		h.api.ServeHTTP(w, r)
		return
	}
	h.servePage(w, r)
}

// servePage serves what is not the API: a page, or a page saying there is
// none. (A call of its own: the API's requests, an idle agent's long wait
// among them, keep no frame of it on their stacks.)
func (h *Handler) servePage(w http.ResponseWriter, r *http.Request) {
	secureHeaders(w.Header())
	if _, pattern := h.mux.Handler(r); pattern == "" {
		h.pages.fail(w, r, h.viewer(r), &Error{Status: http.StatusNotFound, Detail: "There is no page at " + r.URL.Path + "."})
		return
	}
	h.mux.ServeHTTP(w, r)
}

// csp allows this server's own scripts, styles and connections only: no
// inline script or style (a template that forgot to escape cannot run
// anything), no framing, forms posting nowhere else.
const csp = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
	"frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'"

func secureHeaders(hd http.Header) {
	hd.Set("Content-Security-Policy", csp)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "same-origin")
	hd.Set("X-Frame-Options", "DENY")
}
