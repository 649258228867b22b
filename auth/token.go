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
// Each kind of credential has its own, `lathe_` + kind.
const (
	PrefixUser    = "lathe_"         // the first admin token of a `lathe up` data directory
	PrefixAgent   = "lathe_agent_"   // an agent's credential
	PrefixSession = "lathe_session_" // a login session
	PrefixToken   = "lathe_user_"    // a person's API token
	PrefixService = "lathe_service_" // a service account's API token
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
