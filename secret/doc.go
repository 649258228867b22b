// Package secret keeps secret values secret: it seals them at rest with
// AES-256-GCM under a keyring of server keys (a current key and old ones
// kept for rotation, each known by an ID), opens them again only with the
// associated data of the row that holds them, masks them in job output
// however that output is split (Masker), and seals values for a project
// with the project's RSA key so they can live in a pipeline file
// (EncryptForProject).
//
// It depends on nothing but the standard library: no store, no HTTP, no
// domain types. Callers decide what a row identity is and where
// ciphertexts live.
package secret
