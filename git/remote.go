package git

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
)

// Remote is a repository URL as git reads it: a local path (or file://),
// a URL with a scheme, or scp-like user@host:path.
type Remote struct {
	// Local is a path on the server's disk (a plain path or file://).
	Local bool
	Path  string // for a local remote, the path
	// Scheme is https, http, ssh, git, or what precedes "::" or "://";
	// "ssh" for scp-like syntax.
	Scheme string
	Host   string
	Port   string // of a URL with a scheme, when it names one
}

// Hold is git configuration (-c options) that holds git's contact with a
// remote to what Policy.Check allowed.
type Hold []string

// args puts the hold before git's arguments.
func (h Hold) args(args ...string) []string {
	return append(append([]string(nil), h...), args...)
}

var (
	scpLike   = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^(?:[^@/]+@)?(\[[^\]]+\]|[^:/]+):`) })
	hasScheme = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*://`) })
	helper    = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*::`) })
)

// ParseRemote tells what kind of repository raw names, as git would.
func ParseRemote(raw string) (Remote, error) {
	switch {
	case helper().MatchString(raw):
		// git's transport helpers (ext::, fd::…) run commands.
		scheme, _, _ := strings.Cut(raw, "::")
		return Remote{Scheme: scheme}, nil
	case hasScheme().MatchString(raw):
		u, err := url.Parse(raw)
		if err != nil {
			return Remote{}, fmt.Errorf("url: %s: %v", Redact(raw), redactErr(err))
		}
		if u.Scheme == "file" {
			return Remote{Local: true, Path: u.Path, Scheme: "file"}, nil
		}
		return Remote{Scheme: strings.ToLower(u.Scheme), Host: u.Hostname(), Port: u.Port()}, nil
	case scpLike().MatchString(raw) && !strings.Contains(strings.SplitN(raw, ":", 2)[0], "/"):
		host := scpLike().FindStringSubmatch(raw)[1]
		return Remote{Scheme: "ssh", Host: strings.Trim(host, "[]")}, nil
	default:
		return Remote{Local: true, Path: raw}, nil
	}
}

func redactErr(err error) string { return Redact(err.Error()) }

// Policy says which repositories the server may read for a project.
type Policy struct {
	// DataDir is the server's data directory: no project may read from it
	// (it holds other projects' mirrors, the database and the keys).
	DataDir string
	// Allow lists private networks (CIDRs) that non-admins' URLs may reach.
	Allow []netip.Prefix
	// Resolver looks hosts up (nil: net.DefaultResolver).
	Resolver *net.Resolver
}

// Check refuses a repository URL the policy does not allow. admin says an
// admin chose it: admins may name local paths and private hosts; nobody
// may name the data directory. Others may reach only https, http, ssh and
// git URLs whose host resolves to public addresses or allowed networks.
// The Hold it returns keeps git to the addresses checked: for http(s),
// the connection goes to the address checked, and no redirect is followed;
// ssh and git resolve again, so call Check before each contact.
func (p Policy) Check(ctx context.Context, raw string, admin bool) (Hold, error) {
	r, err := ParseRemote(raw)
	if err != nil {
		return nil, err
	}
	if r.Local {
		return nil, p.checkLocal(r.Path, admin)
	}
	if admin {
		return nil, nil
	}
	switch r.Scheme {
	case "https", "http", "ssh", "git":
	default:
		return nil, fmt.Errorf("url: %s transport needs an admin; use https, http, ssh or git", r.Scheme)
	}
	if r.Host == "" {
		return nil, fmt.Errorf("url: %s names no host", Redact(raw))
	}
	addr, err := p.checkHost(ctx, r.Host)
	if err != nil || (r.Scheme != "https" && r.Scheme != "http") {
		return nil, err
	}
	port := r.Port
	if port == "" {
		port = map[string]string{"https": "443", "http": "80"}[r.Scheme]
	}
	ip := addr.String()
	if addr.Is6() {
		ip = "[" + ip + "]"
	}
	return Hold{"-c", "http.followRedirects=false", "-c", "http.curloptResolve=" + r.Host + ":" + port + ":" + ip}, nil
}

func (p Policy) checkLocal(path string, admin bool) error {
	if !filepath.IsAbs(path) {
		return fmt.Errorf("url: %s is a relative path; name the repository by its absolute path on the server", path)
	}
	if p.DataDir != "" {
		if inside(canonical(p.DataDir), canonical(path)) {
			return fmt.Errorf("url: %s is inside the server's data directory; a project cannot read the server's own files", path)
		}
	}
	if !admin {
		return fmt.Errorf("url: %s is a path on the server; only an admin may build from local paths", path)
	}
	return nil
}

// canonical makes path absolute and resolves its links as far as it exists.
func canonical(path string) string {
	abs, err := filepath.Abs(path)
	if err != nil {
		return filepath.Clean(path)
	}
	rest := ""
	for dir := abs; ; dir = filepath.Dir(dir) {
		if real, err := filepath.EvalSymlinks(dir); err == nil {
			return filepath.Join(real, rest)
		}
		if dir == filepath.Dir(dir) {
			return abs
		}
		rest = filepath.Join(filepath.Base(dir), rest)
	}
}

func inside(dir, path string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, "../")
}

// checkHost resolves host and refuses it unless every address is allowed;
// it returns the first.
func (p Policy) checkHost(ctx context.Context, host string) (netip.Addr, error) {
	var addrs []netip.Addr
	if a, err := netip.ParseAddr(host); err == nil {
		addrs = []netip.Addr{a}
	} else {
		res := p.Resolver
		if res == nil {
			res = net.DefaultResolver
		}
		if addrs, err = res.LookupNetIP(ctx, "ip", host); err != nil {
			return netip.Addr{}, fmt.Errorf("url: cannot resolve %s: %v", host, err)
		}
	}
	for _, a := range addrs {
		if !p.allowed(a.Unmap()) {
			return netip.Addr{}, fmt.Errorf("url: %s resolves to %s, a loopback, link-local or private address; "+
				"only an admin may use it, or allow its network with --allow-repo-network", host, a)
		}
	}
	if len(addrs) == 0 {
		return netip.Addr{}, fmt.Errorf("url: %s has no address", host)
	}
	return addrs[0].Unmap(), nil
}

func (p Policy) allowed(a netip.Addr) bool {
	for _, n := range p.Allow {
		if n.Contains(a) {
			return true
		}
	}
	return !(a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() ||
		a.IsUnspecified() || a.IsMulticast() || a.IsInterfaceLocalMulticast() || sharedSpace.Contains(a))
}

// sharedSpace is carrier-grade NAT space (RFC 6598), private in all but name.
var sharedSpace = netip.MustParsePrefix("100.64.0.0/10")

// userinfo finds the credentials of URLs with a scheme (user:token@).
var userinfo = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.-]*://)[^/@\s'"]+@`) })

// Redact hides the credentials of every URL in text: https://***@host/….
func Redact(text string) string {
	return userinfo().ReplaceAllString(text, "${1}***@")
}

// SplitCredentials separates the credentials (user:token) of an http(s)
// URL from it: it returns the URL as shown, https://***@host/…, and the
// credentials; or raw and "" when it has none.
func SplitCredentials(raw string) (shown, credentials string) {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil || (u.Scheme != "https" && u.Scheme != "http") || !hasScheme().MatchString(raw) {
		return raw, ""
	}
	credentials = u.User.String()
	scheme, rest, _ := strings.Cut(raw, "://")
	authority := rest
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		authority = rest[:i]
	}
	at := strings.LastIndex(authority, "@")
	return scheme + "://***@" + rest[at+1:], credentials
}

// WithCredentials puts credentials back into a URL SplitCredentials showed,
// for git to use.
func WithCredentials(shown, credentials string) string {
	scheme, rest, ok := strings.Cut(shown, "://***@")
	if credentials == "" || !ok {
		return shown
	}
	return scheme + "://" + credentials + "@" + rest
}
