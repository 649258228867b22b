// Package webhook signs the webhooks Lathe sends with the Standard Webhooks
// scheme (https://www.standardwebhooks.com/): a secret "whsec_" followed by
// base64 of 24 to 64 random bytes; headers webhook-id (the message, the
// same on every retry and redelivery), webhook-timestamp (Unix seconds)
// and webhook-signature ("v1," and the base64 HMAC-SHA256 of
// "id.timestamp.body" under the secret's bytes).
//
// It imports nothing of Lathe's.
package webhook

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// SecretPrefix starts every secret.
const SecretPrefix = "whsec_"

// The bounds of a secret's bytes (the scheme's).
const (
	minSecretBytes = 24
	maxSecretBytes = 64
)

// NewSecret makes a secret of 32 random bytes.
func NewSecret() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return SecretPrefix + base64.StdEncoding.EncodeToString(b)
}

// ParseSecret checks a secret given by a user and returns its bytes.
func ParseSecret(s string) ([]byte, error) {
	rest, ok := strings.CutPrefix(s, SecretPrefix)
	if !ok {
		return nil, errors.New(`a secret starts with "whsec_" followed by base64`)
	}
	b, err := base64.StdEncoding.DecodeString(rest)
	if err != nil {
		return nil, fmt.Errorf(`the part after "whsec_" is not base64: %v`, err)
	}
	if len(b) < minSecretBytes || len(b) > maxSecretBytes {
		return nil, fmt.Errorf("the secret has %d bytes; want %d to %d", len(b), minSecretBytes, maxSecretBytes)
	}
	return b, nil
}

// Signature is the webhook-signature of a message: "v1," and the base64
// HMAC-SHA256 of "id.timestamp.body".
func Signature(key []byte, id string, ts time.Time, body []byte) string {
	m := hmac.New(sha256.New, key)
	fmt.Fprintf(m, "%s.%d.", id, ts.Unix())
	m.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// Sign sets a message's three headers on h.
func Sign(h http.Header, secret, id string, ts time.Time, body []byte) error {
	key, err := ParseSecret(secret)
	if err != nil {
		return err
	}
	h.Set("webhook-id", id)
	h.Set("webhook-timestamp", strconv.FormatInt(ts.Unix(), 10))
	h.Set("webhook-signature", Signature(key, id, ts, body))
	return nil
}
