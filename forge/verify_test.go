package forge_test

import (
	"errors"
	"net/http"
	"testing"

	"github.com/lathe-ci/lathe/forge"
)

// A hook signed with the project's secret verifies; a changed body, a
// signature made with another secret, a missing header or an unset secret
// do not.
func TestVerify(t *testing.T) {
	t.Parallel()
	secret := []byte("0123456789abcdef-hook")
	body := []byte(`{"ref":"refs/heads/main"}`)
	for _, s := range forge.Senders {
		t.Run(string(s), func(t *testing.T) {
			signed := forge.Sign(s, secret, body)
			if err := forge.Verify(s, secret, signed, body); err != nil {
				t.Fatalf("signed hook: %v", err)
			}
			bad := []struct {
				name   string
				secret []byte
				h      http.Header
				body   []byte
			}{
				{"no secret set", nil, signed, body},
				{"no header", secret, http.Header{}, body},
				{"other secret", secret, forge.Sign(s, []byte("another secret, also long"), body), body},
			}
			if s != forge.SenderGitLab {
				// GitLab sends the secret itself: its body is not signed.
				bad = append(bad, struct {
					name   string
					secret []byte
					h      http.Header
					body   []byte
				}{"tampered body", secret, signed, []byte(`{"ref":"refs/heads/evil"}`)})
				h := http.Header{}
				h.Set(s.SignatureHeader(), "not hex")
				bad = append(bad, struct {
					name   string
					secret []byte
					h      http.Header
					body   []byte
				}{"garbage", secret, h, body})
			}
			for _, b := range bad {
				if err := forge.Verify(s, b.secret, b.h, b.body); !errors.Is(err, forge.ErrSignature) {
					t.Errorf("%s: err = %v; want ErrSignature", b.name, err)
				}
			}
		})
	}
}
