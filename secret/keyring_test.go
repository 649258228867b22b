package secret

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lathe-ci/lathe"
)

func TestKeyringSealOpen(t *testing.T) {
	old, cur := NewKey(), NewKey()
	k1, err := NewKeyring(old)
	if err != nil {
		t.Fatal(err)
	}
	ad := []byte("project:12/secret:DB_PASSWORD")
	id, ct := k1.Seal([]byte("correct horse"), ad)
	if id != KeyID(old) || bytes.Contains(ct, []byte("correct horse")) {
		t.Fatalf("seal: id %s, ciphertext %q", id, ct)
	}
	if _, ct2 := k1.Seal([]byte("correct horse"), ad); bytes.Equal(ct, ct2) {
		t.Error("two seals of one value are equal: the nonce is not random")
	}
	if _, err := k1.Open(id, ct, []byte("project:13/secret:DB_PASSWORD")); !errors.Is(err, ErrOpen) {
		t.Errorf("open with another row's identity: %v, want ErrOpen", err)
	}
	bad := append([]byte(nil), ct...)
	bad[len(bad)-1] ^= 1
	if _, err := k1.Open(id, bad, ad); !errors.Is(err, ErrOpen) {
		t.Errorf("open tampered: %v, want ErrOpen", err)
	}
	k2, err := NewKeyring(cur, old)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := k2.Open(id, ct, ad); err != nil || string(got) != "correct horse" {
		t.Errorf("open with the old key in a rotated keyring: %q, %v", got, err)
	}
	if id2, _ := k2.Seal([]byte("x"), ad); id2 != KeyID(cur) {
		t.Errorf("rotated keyring seals with %s, want the current key %s", id2, KeyID(cur))
	}
	k3, _ := NewKeyring(cur)
	if _, err := k3.Open(id, ct, ad); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("open without the old key: %v, want ErrUnknownKey", err)
	}
	if _, err := NewKeyring(cur[:16]); err == nil {
		t.Error("a 16-byte key was accepted")
	}
}

func TestKeyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "secret.key")
	key, err := CreateKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, want 0600", fi.Mode().Perm())
	}
	if _, err := CreateKeyFile(path); err == nil {
		t.Error("CreateKeyFile overwrote an existing file")
	}
	keys, err := ReadKeyFile(path)
	if err != nil || len(keys) != 1 || !bytes.Equal(keys[0], key) {
		t.Fatalf("read back %d keys, %v", len(keys), err)
	}
	other := NewKey()
	text := "# rotated\n" + EncodeKey(other) + "\n\n" + EncodeKey(key) + "\n"
	keys, err = ParseKeys([]byte(text))
	if err != nil || len(keys) != 2 || !bytes.Equal(keys[0], other) || !bytes.Equal(keys[1], key) {
		t.Errorf("keyring file: %d keys, %v", len(keys), err)
	}
	for _, bad := range []string{"", "# only a comment\n", "not base64!\n", EncodeKey(key[:20])} {
		if _, err := ParseKeys([]byte(bad)); err == nil {
			t.Errorf("ParseKeys(%q) accepted", bad)
		}
	}
}

func TestProjectKeyHybrid(t *testing.T) {
	if testing.Short() {
		t.Skip("generates an RSA key")
	}
	priv, err := GenerateProjectKey()
	if err != nil {
		t.Fatal(err)
	}
	pub, err := ParsePublicKeyPEM(PublicKeyPEM(&priv.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	der, _ := MarshalPrivateKey(priv)
	if priv, err = ParsePrivateKey(der); err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("a long value, longer than one RSA block; ", 100)
	for _, v := range []string{"hunter22", long} {
		text, err := EncryptForProject(pub, []byte(v))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(text, lathe.EncryptedPrefix) {
			t.Errorf("ciphertext %q lacks the prefix", text[:20])
		}
		// Folded as YAML might fold it.
		folded := text[:40] + "\n  " + text[40:]
		if got, err := DecryptForProject(priv, folded); err != nil || string(got) != v {
			t.Errorf("decrypt: %q, %v", got, err)
		}
		raw := []byte(text)
		raw[len(raw)-5] ^= 1
		if _, err := DecryptForProject(priv, string(raw)); err == nil {
			t.Error("a tampered ciphertext opened")
		}
	}
	if _, err := DecryptForProject(priv, "hunter22"); !errors.Is(err, ErrProjectCiphertext) {
		t.Errorf("plain text: %v", err)
	}
}
