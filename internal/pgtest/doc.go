// Package pgtest starts throwaway PostgreSQL servers for tests.
//
// A Cluster is a real postgres process run from the server binaries in
// /usr/lib/postgresql/*/bin, with its data in a temporary directory that is
// deleted when the cluster stops. Tests get an isolated database each from
// Cluster.NewDatabase, so they never see each other's rows.
//
// The package is for tests only: it depends on the standard library and on
// the PostgreSQL binaries, and nothing in the server may import it.
package pgtest
