package secret

import (
	"bufio"
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
)

// KeySize is the length of a server key in bytes (AES-256).
const KeySize = 32

// ErrUnknownKey is returned by Open for a ciphertext sealed under a key the
// keyring does not hold.
var ErrUnknownKey = errors.New("secret: no such key in the keyring")

// ErrOpen is returned by Open when a ciphertext does not authenticate: a
// wrong key, a tampered ciphertext, or associated data of another row.
var ErrOpen = errors.New("secret: ciphertext does not open with this key and associated data")

// Keyring holds the key that seals new values and the old keys that still
// open values sealed before a rotation. It is safe for concurrent use.
type Keyring struct {
	current string
	aeads   map[string]cipher.AEAD
	order   []string // current first, then old keys as given
}

// NewKey returns a fresh random key.
func NewKey() []byte {
	k := make([]byte, KeySize)
	rand.Read(k) // never fails (crypto/rand panics instead of returning short reads)
	return k
}

// KeyID names a key without revealing it: the first 8 bytes of the SHA-256
// of a domain tag and the key, in hex. It is stored beside each ciphertext.
func KeyID(key []byte) string {
	h := sha256.New()
	h.Write([]byte("lathe secret key id\x00"))
	h.Write(key)
	return hex.EncodeToString(h.Sum(nil)[:8])
}

// NewKeyring returns a keyring sealing with current and opening with
// current and every old key.
func NewKeyring(current []byte, old ...[]byte) (*Keyring, error) {
	k := &Keyring{aeads: map[string]cipher.AEAD{}}
	for i, key := range append([][]byte{current}, old...) {
		if len(key) != KeySize {
			return nil, fmt.Errorf("secret key: %d bytes, want %d (a base64-encoded 256-bit key)", len(key), KeySize)
		}
		block, err := aes.NewCipher(key)
		if err != nil {
			return nil, fmt.Errorf("secret key: %w", err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("secret key: %w", err)
		}
		id := KeyID(key)
		if i == 0 {
			k.current = id
		}
		if _, dup := k.aeads[id]; dup {
			continue
		}
		k.aeads[id] = aead
		k.order = append(k.order, id)
	}
	return k, nil
}

// CurrentID is the ID of the key that seals new values.
func (k *Keyring) CurrentID() string { return k.current }

// IDs lists the IDs of every key in the keyring, current first.
func (k *Keyring) IDs() []string { return append([]string(nil), k.order...) }

// Has reports whether the keyring holds the key with this ID.
func (k *Keyring) Has(id string) bool { _, ok := k.aeads[id]; return ok }

// Seal encrypts plaintext under the current key, binding it to
// associatedData (the identity of the row that will hold it, so that a
// ciphertext copied to another row does not open). The ciphertext is a
// random 12-byte nonce followed by the GCM output (ciphertext and 16-byte tag).
func (k *Keyring) Seal(plaintext, associatedData []byte) (keyID string, ciphertext []byte) {
	aead := k.aeads[k.current]
	out := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plaintext)+aead.Overhead())
	rand.Read(out)
	return k.current, aead.Seal(out, out, plaintext, associatedData)
}

// Open decrypts a ciphertext sealed by Seal under the key keyID with the
// same associated data.
func (k *Keyring) Open(keyID string, ciphertext, associatedData []byte) ([]byte, error) {
	aead, ok := k.aeads[keyID]
	if !ok {
		return nil, fmt.Errorf("key id %s: %w", keyID, ErrUnknownKey)
	}
	if len(ciphertext) < aead.NonceSize()+aead.Overhead() {
		return nil, ErrOpen
	}
	n := aead.NonceSize()
	out, err := aead.Open(nil, ciphertext[:n], ciphertext[n:], associatedData)
	if err != nil {
		return nil, ErrOpen
	}
	return out, nil
}

// EncodeKey is the text form of a key: standard base64.
func EncodeKey(key []byte) string { return base64.StdEncoding.EncodeToString(key) }

// DecodeKey reads a key in its text form (standard or URL base64, padded or not).
func DecodeKey(text string) ([]byte, error) {
	text = strings.TrimSpace(text)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if k, err := enc.DecodeString(text); err == nil {
			if len(k) != KeySize {
				return nil, fmt.Errorf("secret key: %d bytes, want %d", len(k), KeySize)
			}
			return k, nil
		}
	}
	return nil, errors.New("secret key: not base64")
}

// ParseKeys reads a key file. The format: one base64 key per line; blank
// lines and lines starting with # are ignored. The first key is the
// current one, any later keys are old keys that still open values sealed
// before a rotation. A file holding one key is the common case.
func ParseKeys(text []byte) ([][]byte, error) {
	var keys [][]byte
	sc := bufio.NewScanner(bytes.NewReader(text))
	for line := 1; sc.Scan(); line++ {
		s := strings.TrimSpace(sc.Text())
		if s == "" || strings.HasPrefix(s, "#") {
			continue
		}
		k, err := DecodeKey(s)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		keys = append(keys, k)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(keys) == 0 {
		return nil, errors.New("no key in the file")
	}
	return keys, nil
}

// ReadKeyFile reads a key file (see ParseKeys).
func ReadKeyFile(path string) ([][]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("secret key file: %w", err)
	}
	keys, err := ParseKeys(b)
	if err != nil {
		return nil, fmt.Errorf("secret key file %s: %w", path, err)
	}
	return keys, nil
}

// CreateKeyFile writes a new random key to path (mode 0600), failing if
// the file exists, and returns the key.
func CreateKeyFile(path string) ([]byte, error) {
	key := NewKey()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("create secret key file: %w", err)
	}
	text := "# Lathe's secret key: it encrypts the stored secrets. Back it up; without it they are lost.\n" +
		"# Rotate by putting a new key on the first line and keeping this one below it, then run\n" +
		"# `lathe secrets reencrypt`.\n" + EncodeKey(key) + "\n"
	if _, err := f.WriteString(text); err != nil {
		f.Close()
		os.Remove(path)
		return nil, fmt.Errorf("write secret key file: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, fmt.Errorf("write secret key file: %w", err)
	}
	return key, f.Close()
}
