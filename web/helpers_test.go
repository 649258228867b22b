package web_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/lathe-ci/lathe/internal/lathetest"
)

// member creates a user with a password and gives it role on project
// ("" for no role); it returns the password.
func member(t testing.TB, l *lathetest.Lathe, name, project, role string) string {
	t.Helper()
	pw := "pw-" + name + "-secret"
	l.Do(t, http.MethodPost, "/api/v1/users", map[string]any{"name": name, "password": pw}, nil)
	if role != "" {
		l.Do(t, http.MethodPut, "/api/v1/projects/"+project+"/members/users/"+name, map[string]string{"role": role}, nil)
	}
	return pw
}

// browserless is a plain HTTP client with a cookie jar, as a browser
// without script would be; it does not follow redirects, so tests see them.
type browserless struct {
	t    *testing.T
	base string
	c    *http.Client
}

func newBrowserless(t *testing.T, base string) *browserless {
	jar, _ := cookiejar.New(nil)
	return &browserless{t: t, base: base, c: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// get returns the status, headers and body of GET path.
func (b *browserless) get(path string) (int, http.Header, string) {
	b.t.Helper()
	resp, err := b.c.Get(b.base + path)
	if err != nil {
		b.t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(body)
}

// post sends a form, with extra headers (name, value pairs).
func (b *browserless) post(path string, form url.Values, headers ...string) (int, http.Header, string) {
	b.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, b.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(body)
}

var csrfInput = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf is the CSRF token of the forms of the page at path.
func (b *browserless) csrf(path string) string {
	b.t.Helper()
	code, _, body := b.get(path)
	m := csrfInput.FindStringSubmatch(body)
	if code != http.StatusOK || m == nil {
		b.t.Fatalf("GET %s: %d, no CSRF token in the page:\n%s", path, code, body)
	}
	return m[1]
}

// signIn signs in through the sign-in form.
func (b *browserless) signIn(user, password string) {
	b.t.Helper()
	code, hdr, body := b.post("/login", url.Values{"csrf": {b.csrf("/login")}, "username": {user}, "password": {password}, "next": {"/"}})
	if code != http.StatusSeeOther || hdr.Get("Location") != "/" {
		b.t.Fatalf("sign in as %s: %d %s\n%s", user, code, hdr.Get("Location"), body)
	}
}

// chromium finds the browser; without one the test is skipped, except
// in CI (CI=true), where it fails: .ci/run installs Debian's chromium.
func chromium(t testing.TB) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("CI: no chromium binary on PATH (apt-get install chromium)")
	}
	t.Skip("no chromium binary on PATH: install Debian's chromium package to run the browser tests")
	return ""
}

// browser starts a headless Chromium for the test (stopped when it ends)
// and returns a tab's context, bounded by timeout.
func browser(t testing.TB, timeout time.Duration) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromium(t)),
		chromedp.NoSandbox, chromedp.WindowSize(1280, 900), chromedp.Flag("disable-dev-shm-usage", true))
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(alloc, chromedp.WithLogf(t.Logf))
	ctx, cancelTimeout := context.WithTimeout(ctx, timeout)
	t.Cleanup(func() {
		cancelTimeout()
		cancelTab()
		cancelAlloc() // stops the browser and waits for it
	})
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// screenshot saves the page as NAME.png in $LATHE_SCREENSHOTS, or in the
// test's artifact directory (kept with go test -artifacts).
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := os.Getenv("LATHE_SCREENSHOTS")
	if dir == "" {
		dir = t.ArtifactDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	path := filepath.Join(dir, fmt.Sprintf("%s-%s.png", strings.ReplaceAll(t.Name(), "/", "_"), name))
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}

// waitJS evaluates expr until it yields want, across the page's own
// reloads and navigations (which end a single poll), at most 600 times.
func waitJS[T comparable](t *testing.T, ctx context.Context, expr string, want T) {
	t.Helper()
	var got T
	var err error
	for range 600 {
		if got, err = chromedp.Run(ctx, chromedp.Evaluate[T](expr)); err == nil && got == want {
			return
		}
		if ctx.Err() != nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s: got %v (%v), want %v", expr, got, err, want)
}

// checkPage checks what every page must have, in the browser as it is
// now: a title, one main landmark, a labelled control for every input,
// and no sideways scrolling of the page at the window's width (wide
// tables and the graph scroll inside their own boxes).
func checkPage(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	problems, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`(() => {
		const p = [];
		if (!document.title.trim()) p.push("no title");
		if (document.querySelectorAll("main").length !== 1) p.push("not one main landmark");
		if (!document.querySelector("header nav[aria-label]")) p.push("no labelled navigation");
		for (const c of document.querySelectorAll("input:not([type=hidden]), select, textarea"))
			if (!c.labels.length && !c.getAttribute("aria-label")) p.push("unlabelled " + c.outerHTML);
		for (const b of document.querySelectorAll("button"))
			if (!b.textContent.trim() && !b.getAttribute("aria-label")) p.push("button without a name");
		if (document.documentElement.scrollWidth > window.innerWidth + 1)
			p.push("page scrolls sideways: " + document.documentElement.scrollWidth + " > " + window.innerWidth);
		return p;
	})()`))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	for _, p := range problems {
		t.Errorf("%s: %s", name, p)
	}
}

// cutProxy forwards TCP connections to a server and can cut every open
// one at once, as a network drop would; new connections go through.
type cutProxy struct {
	URL   string
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func newCutProxy(t testing.TB, serverURL string) *cutProxy {
	u, err := url.Parse(serverURL)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{URL: "http://" + ln.Addr().String(), ln: ln}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
		p.cut()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", u.Host)
			if err != nil {
				in.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, in, out)
			p.mu.Unlock()
			wg.Add(2)
			go func() { defer wg.Done(); io.Copy(out, in); out.Close() }()
			go func() { defer wg.Done(); io.Copy(in, out); in.Close() }()
		}
	}()
	return p
}

// cut closes every connection open now.
func (p *cutProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}
