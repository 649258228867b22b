package pipeline

import (
	"encoding/base64"
	"errors"
	"slices"
	"strings"

	"github.com/lathe-ci/lathe"
	"go.yaml.in/yaml/v3"
)

// SecretRef is a secret a job receives as the env variable Name.
type SecretRef struct {
	Name string
	// Encrypted is a value sealed with the project's public key (`lathe
	// encrypt`) and written in the file, as lathe:v1:BASE64 with any
	// whitespace removed; only the server can open it. Empty for a secret
	// stored on the server (`lathe secrets set`).
	Encrypted string
}

// storedSecret is the map form's value for a secret stored on the server.
const storedSecret = "stored"

// encryptedSecretKeys are the keys of the map form's encrypted value.
var encryptedSecretKeys = []string{"encrypted"}

// secrets reads `secrets:`, the secrets a job receives as env variables of
// their names. Either a list of names of secrets stored on the server
//
//	secrets: [DB_PASSWORD, API_KEY]
//
// or a map, which can also carry values encrypted with the project's
// public key, as `lathe encrypt` prints them:
//
//	secrets:
//	  DB_PASSWORD: stored
//	  API_KEY:
//	    encrypted: "lathe:v1:…"
//
// A name must be a valid variable name. One not in upper case is only
// warned about: secret names are matched exactly, and the convention makes
// a mismatch (db_password vs DB_PASSWORD) rarer.
func (w *walker) secrets(n *yaml.Node, path string) []SecretRef {
	var out []SecretRef
	add := func(name string, at *yaml.Node, field, encrypted string) {
		switch {
		case !validEnvName(name):
			w.errorf(at, field, "%q is not a valid secret name: start with a letter or '_', then use letters, digits or '_'", name)
		case slices.ContainsFunc(out, func(s SecretRef) bool { return s.Name == name }):
			w.errorf(at, field, "duplicate secret %q", name)
		default:
			if name != strings.ToUpper(name) {
				w.warnf(at, field, "secret names are matched exactly and are usually upper case; is %q meant to be %q?", name, strings.ToUpper(name))
			}
			out = append(out, SecretRef{Name: name, Encrypted: encrypted})
		}
	}
	if n.Kind != yaml.MappingNode {
		names, nodes := w.globs(n, path, "a secret name")
		for i, name := range names {
			add(name, nodes[i], path, "")
		}
		return out
	}
	for _, e := range w.entries(n, path) {
		field := join(path, e.key.Value)
		switch v := e.value; {
		case isScalar(v) && v.Value == storedSecret:
			add(e.key.Value, e.key, field, "")
		case v.Kind == yaml.MappingNode:
			if text, ok := w.encryptedSecret(v, field); ok {
				add(e.key.Value, e.key, field, text)
			}
		default:
			w.errorf(v, field, "must be %q (a secret set on the server) or {encrypted: \"lathe:v1:…\"} (a value from lathe encrypt), not %s", storedSecret, describe(v))
		}
	}
	return out
}

// encryptedSecret reads {encrypted: "lathe:v1:…"} and checks the value's
// shape; only the server, with the project's private key, can tell whether
// it opens. It returns the value without whitespace, which YAML folding or
// a wrapped paste may have left in it.
func (w *walker) encryptedSecret(n *yaml.Node, path string) (string, bool) {
	var text string
	var ok, saw bool
	for _, e := range w.entries(n, path) {
		field := join(path, e.key.Value)
		if e.key.Value != "encrypted" {
			w.unknownKey(e.key, path, encryptedSecretKeys)
			continue
		}
		saw = true
		if !isScalar(e.value) {
			w.errorf(e.value, field, "must be the text lathe encrypt printed, not %s", describe(e.value))
			continue
		}
		raw, err := lathe.DecodeEncrypted(e.value.Value)
		switch {
		case errors.Is(err, lathe.ErrEncryptedPrefix):
			w.errorf(e.value, field, "must start with %q; paste the value lathe encrypt printed", lathe.EncryptedPrefix)
		case errors.Is(err, lathe.ErrEncryptedBase64):
			w.errorf(e.value, field, "is not valid base64 after %q; paste the value lathe encrypt printed", lathe.EncryptedPrefix)
		case err != nil:
			w.errorf(e.value, field, "is too short to be a value lathe encrypt printed; was it cut off?")
		default:
			text, ok = lathe.EncryptedPrefix+base64.StdEncoding.EncodeToString(raw), true
		}
	}
	if !saw {
		w.errorf(n, join(path, "encrypted"), "missing; paste the value lathe encrypt printed")
	}
	return text, ok
}

// secretNames lists the names of refs.
func secretNames(refs []SecretRef) []string {
	out := make([]string, len(refs))
	for i, s := range refs {
		out[i] = s.Name
	}
	return out
}
