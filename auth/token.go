// Package auth makes and checks credentials. Secrets are random, shown once,
// and stored only as a hash.
package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
)

// Token prefixes make leaked credentials recognisable (for secret scanners and people).
const (
	PrefixUser  = "lathe_"
	PrefixAgent = "lathe_agent_"
)

var encoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// NewToken returns a new random token (256 bits) with the prefix, and the hash to store.
func NewToken(prefix string) (token, hash string) {
	b := make([]byte, 32)
	rand.Read(b) // never fails on Linux (crypto/rand panics internally if it cannot read)
	token = prefix + encoding.EncodeToString(b)
	return token, Hash(token)
}

// Hash is the stored form of a token. Tokens carry 256 random bits, so a
// plain SHA-256 is enough: there is nothing to brute-force.
func Hash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}
