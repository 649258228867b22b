package git

import (
	"context"
	"net/netip"
	"strings"
	"testing"
)

func TestParseRemote(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		raw  string
		want Remote
	}{
		{"/srv/repo.git", Remote{Local: true, Path: "/srv/repo.git"}},
		{"../repo", Remote{Local: true, Path: "../repo"}},
		{"file:///srv/repo.git", Remote{Local: true, Path: "/srv/repo.git", Scheme: "file"}},
		{"https://u:p@example.com:8443/r.git", Remote{Scheme: "https", Host: "example.com", Port: "8443"}},
		{"git@github.com:org/repo.git", Remote{Scheme: "ssh", Host: "github.com"}},
		{"git@[::1]:repo.git", Remote{Scheme: "ssh", Host: "::1"}},
		{"ext::sh -c touch% /tmp/x", Remote{Scheme: "ext"}},
		{"./dir:with/colon", Remote{Local: true, Path: "./dir:with/colon"}},
	} {
		got, err := ParseRemote(tt.raw)
		if err != nil || got != tt.want {
			t.Errorf("ParseRemote(%q) = %+v, %v; want %+v", tt.raw, got, err, tt.want)
		}
	}
}

func TestCredentialsAreSplitAndRedacted(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ raw, shown, creds string }{
		{"https://ci:tok3n@host/r.git", "https://***@host/r.git", "ci:tok3n"},
		{"https://tok3n@host/r.git", "https://***@host/r.git", "tok3n"},
		{"https://ci:p%40ss@host:8443/r.git?x=1", "https://***@host:8443/r.git?x=1", "ci:p%40ss"},
		{"https://host/r.git", "https://host/r.git", ""},
		{"ssh://git@host/r.git", "ssh://git@host/r.git", ""},
	} {
		shown, creds := SplitCredentials(tt.raw)
		if shown != tt.shown || creds != tt.creds {
			t.Errorf("SplitCredentials(%q) = %q, %q; want %q, %q", tt.raw, shown, creds, tt.shown, tt.creds)
		}
		if back := WithCredentials(shown, creds); back != tt.raw {
			t.Errorf("WithCredentials(%q, %q) = %q; want %q", shown, creds, back, tt.raw)
		}
	}
	const msg = "fatal: unable to access 'https://ci:tok3n@host/r.git/': 403"
	if got := Redact(msg); got != "fatal: unable to access 'https://***@host/r.git/': 403" {
		t.Errorf("Redact = %q", got)
	}
}

func TestPolicyRefusesPrivateAddressesToNonAdmins(t *testing.T) {
	t.Parallel()
	p := Policy{DataDir: "/var/lib/lathe", Allow: []netip.Prefix{netip.MustParsePrefix("10.9.0.0/16")}}
	ctx := context.Background()
	for _, tt := range []struct {
		raw   string
		admin bool
		says  string // "" means allowed
	}{
		{"https://10.9.1.2/r.git", false, ""},
		{"https://10.8.1.2/r.git", false, "private address"},
		{"http://100.64.0.1/r.git", false, "private address"},
		{"http://[fe80::1]/r.git", false, "private address"},
		{"http://[::ffff:127.0.0.1]/r.git", false, "private address"},
		{"git://0.0.0.0/r.git", false, "private address"},
		{"https://10.8.1.2/r.git", true, ""},
		{"/srv/r.git", true, ""},
		{"/srv/r.git", false, "only an admin"},
		{"/var/lib/lathe/git/x.git", true, "data directory"},
		{"file:///var/lib/lathe/../lathe/git", true, "data directory"},
		{"/var/lib/lathe-other/r.git", true, ""},
		{"./repo", true, "relative path"},
		{"repo", true, "relative path"},
		{"../../var/lib/lathe/git", true, "relative path"},
	} {
		_, err := p.Check(ctx, tt.raw, tt.admin)
		switch {
		case tt.says == "" && err != nil:
			t.Errorf("Check(%q, admin %v) = %v; want allowed", tt.raw, tt.admin, err)
		case tt.says != "" && (err == nil || !strings.Contains(err.Error(), tt.says)):
			t.Errorf("Check(%q, admin %v) = %v; want an error saying %q", tt.raw, tt.admin, err, tt.says)
		}
	}
	hold, err := p.Check(ctx, "https://10.9.1.2:8443/r.git", false)
	if err != nil || strings.Join(hold, " ") != "-c http.followRedirects=false -c http.curloptResolve=10.9.1.2:8443:10.9.1.2" {
		t.Errorf("hold = %q, %v", hold, err)
	}
}
