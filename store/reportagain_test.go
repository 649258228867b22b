package store_test

import (
	"path/filepath"
	"testing"

	"github.com/lathe-ci/lathe/internal/pgtest"
	"github.com/lathe-ci/lathe/store"
)

// A report file sent again by a later attempt of the job (a retry)
// replaces what the earlier attempt's said: its warning is listed once.
func TestAReportSentAgainReplacesTheEarlierOne(t *testing.T) {
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			ctx := t.Context()
			dsn := filepath.Join(t.TempDir(), "lathe.db")
			if engine == "postgres" {
				dsn = pgtest.Shared(t).NewDatabase(t)
			}
			s := open(t, dsn)
			p := mustProject(t, s, "web")
			unit := job("unit", "test")
			r := mustRun(t, s, p.ID, "ci", []string{"test"}, unit)
			for range 2 {
				if err := s.AddReport(ctx, unit.ID, "junit", "bad.xml", 0, "bad.xml: XML syntax error on line 1"); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.AddReport(ctx, unit.ID, "junit", "other.xml", 0, "other.xml: empty"); err != nil {
				t.Fatal(err)
			}
			rt, err := s.RunTests(ctx, store.TestFilter{RunID: r.ID, Limit: 10, MaxInstability: -1})
			if err != nil {
				t.Fatal(err)
			}
			if len(rt.Warnings) != 2 {
				t.Errorf("warnings = %+v; want bad.xml's once and other.xml's", rt.Warnings)
			}
		})
	}
}
