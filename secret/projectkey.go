package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"fmt"

	"github.com/lathe-ci/lathe"
)

// ProjectKeyBits is the size of a project's RSA key.
const ProjectKeyBits = 3072

// oaepLabel and projectAD bind the two layers of a project ciphertext to
// their purpose, so neither can be passed off as something else.
var (
	oaepLabel = []byte("lathe project secret key")
	projectAD = []byte("lathe project secret v1")
)

// ErrProjectCiphertext is returned for a value that is not a project
// ciphertext or does not open with the project's key.
var ErrProjectCiphertext = errors.New("not a value encrypted with this project's key")

// GenerateProjectKey makes a project's RSA key pair.
func GenerateProjectKey() (*rsa.PrivateKey, error) {
	return rsa.GenerateKey(rand.Reader, ProjectKeyBits)
}

// MarshalPrivateKey is the PKCS #8 DER form of a project key (to be sealed
// with the keyring before it is stored).
func MarshalPrivateKey(k *rsa.PrivateKey) ([]byte, error) { return x509.MarshalPKCS8PrivateKey(k) }

// ParsePrivateKey reads a project key in PKCS #8 DER form.
func ParsePrivateKey(der []byte) (*rsa.PrivateKey, error) {
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("project key: %w", err)
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("project key: %T is not an RSA key", k)
	}
	return rk, nil
}

// PublicKeyPEM is the PEM ("PUBLIC KEY", PKIX) form of a project's public key.
func PublicKeyPEM(k *rsa.PublicKey) []byte {
	der, err := x509.MarshalPKIXPublicKey(k)
	if err != nil {
		panic(fmt.Sprintf("secret: marshal RSA public key: %v", err)) // cannot fail for an RSA key
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// ParsePublicKeyPEM reads a public key in PEM form.
func ParsePublicKeyPEM(b []byte) (*rsa.PublicKey, error) {
	block, _ := pem.Decode(b)
	if block == nil || block.Type != "PUBLIC KEY" {
		return nil, errors.New("public key: no PEM PUBLIC KEY block")
	}
	k, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("public key: %w", err)
	}
	rk, ok := k.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("public key: %T is not an RSA key", k)
	}
	return rk, nil
}

// EncryptForProject seals a value with a project's public key, so that it
// can live in a pipeline file and only the server can open it. The scheme
// is hybrid, for values of any length: a random AES-256 key is wrapped with
// RSA-OAEP (SHA-256) and the value is sealed with AES-256-GCM under it. The
// text form is the one lathe.DecodeEncrypted describes, in standard base64
// with padding.
func EncryptForProject(pub *rsa.PublicKey, value []byte) (string, error) {
	key := NewKey()
	wrapped, err := rsa.EncryptOAEP(sha256.New(), rand.Reader, pub, key, oaepLabel)
	if err != nil {
		return "", fmt.Errorf("encrypt: %w", err)
	}
	block, _ := aes.NewCipher(key)
	aead, _ := cipher.NewGCM(block)
	out := binary.BigEndian.AppendUint16(nil, uint16(len(wrapped)))
	out = append(out, wrapped...)
	nonce := make([]byte, aead.NonceSize())
	rand.Read(nonce)
	out = append(out, nonce...)
	out = aead.Seal(out, nonce, value, projectAD)
	return lathe.EncryptedPrefix + base64.StdEncoding.EncodeToString(out), nil
}

// DecryptForProject opens a value sealed by EncryptForProject.
func DecryptForProject(priv *rsa.PrivateKey, text string) ([]byte, error) {
	raw, err := lathe.DecodeEncrypted(text)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrProjectCiphertext, err)
	}
	n := int(binary.BigEndian.Uint16(raw))
	raw = raw[2:]
	key, err := rsa.DecryptOAEP(sha256.New(), nil, priv, raw[:n], oaepLabel)
	if err != nil {
		return nil, ErrProjectCiphertext
	}
	block, _ := aes.NewCipher(key)
	aead, _ := cipher.NewGCM(block)
	raw = raw[n:]
	value, err := aead.Open(nil, raw[:12], raw[12:], projectAD)
	if err != nil {
		return nil, ErrProjectCiphertext
	}
	return value, nil
}
