package auth

import (
	"strings"
	"testing"
)

func TestPasswordHash(t *testing.T) {
	h := HashPassword("correct horse")
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash %q does not carry the OWASP argon2id parameters", h)
	}
	if h == HashPassword("correct horse") {
		t.Error("two hashes of one password are equal: the salt is not random")
	}
	for pw, want := range map[string]bool{"correct horse": true, "correct hors": false, "": false} {
		ok, err := CheckPassword(h, pw)
		if err != nil || ok != want {
			t.Errorf("CheckPassword(%q) = %v, %v; want %v", pw, ok, err, want)
		}
	}
	if ok, err := CheckPassword("", "x"); ok || err != nil {
		t.Errorf("empty hash matched: %v, %v", ok, err)
	}
	if _, err := CheckPassword("$argon2id$v=19$garbage", "x"); err == nil {
		t.Error("garbage hash: no error")
	}
}
