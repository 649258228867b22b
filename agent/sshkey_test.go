package agent

import (
	"os"
	"strings"
	"testing"

	lathe "github.com/lathe-ci/lathe"
)

// The checkout of an SSH URL gets the assignment's key in a file that
// done deletes; an untrusted job has none and fails saying why; other
// URLs get nothing.
func TestCheckoutHold(t *testing.T) {
	as := &lathe.Assignment{RepoURL: "ssh://git@example.com/repo.git", SSHKey: "PRIVATE", SSHKnownHosts: "example.com ssh-ed25519 AAAA\n"}
	hold, done, err := checkoutHold(as)
	if err != nil {
		t.Fatal(err)
	}
	joined := strings.Join(hold, " ")
	start := strings.Index(joined, "-i '")
	if start < 0 || !strings.Contains(joined, "StrictHostKeyChecking=yes") {
		t.Fatalf("hold = %q; want a key and strict host keys", hold)
	}
	keyFile, _, _ := strings.Cut(joined[start+4:], "'")
	if b, err := os.ReadFile(keyFile); err != nil || string(b) != "PRIVATE" {
		t.Fatalf("key file %s: %q, %v", keyFile, b, err)
	}
	done()
	if _, err := os.Stat(keyFile); !os.IsNotExist(err) {
		t.Errorf("key file after done: %v; want it deleted", err)
	}
	if as.SSHKey != "" {
		t.Errorf("the assignment still holds the key after the checkout")
	}

	untrusted := &lathe.Assignment{RepoURL: "git@example.com:repo.git", Untrusted: true}
	if _, _, err := checkoutHold(untrusted); err == nil || !strings.Contains(err.Error(), "untrusted") {
		t.Errorf("untrusted job over SSH: %v; want an error saying it is untrusted", err)
	}
	if hold, done, err := checkoutHold(&lathe.Assignment{RepoURL: "https://example.com/repo.git"}); hold != nil || err != nil {
		t.Errorf("https: %q, %v; want nothing", hold, err)
	} else {
		done()
	}
}
