package lathetest

import (
	"testing"

	"github.com/lathe-ci/lathe/internal/pgtest"
)

// Engines runs fn once on SQLite and once on a fresh PostgreSQL database
// (the package's TestMain must call pgtest.Main).
func Engines(t *testing.T, fn func(t *testing.T, o Options)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, Options{}) })
	t.Run("postgres", func(t *testing.T) {
		fn(t, Options{DatabaseURL: pgtest.Shared(t).NewDatabase(t)})
	})
}
