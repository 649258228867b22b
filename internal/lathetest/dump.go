package lathetest

import (
	"bytes"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Dump reads every column of every row of every table of the database at
// dsn (a postgres:// URL or a SQLite file path) and returns it all, raw
// bytes as they are; for SQLite it appends the bytes of the database file
// and its journal files too. Tests search it for what must never be stored.
func Dump(tb testing.TB, dsn string) []byte {
	tb.Helper()
	driver, listTables := "sqlite", `SELECT name FROM sqlite_master WHERE type = 'table'`
	pg := strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
	if pg {
		driver, listTables = "pgx", `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()`
	}
	path := strings.TrimPrefix(dsn, "sqlite:")
	if !pg {
		dsn = "file:" + path + "?mode=ro"
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		tb.Fatalf("dump: %v", err)
	}
	defer db.Close()
	var tables []string
	rows, err := db.Query(listTables)
	if err != nil {
		tb.Fatalf("dump: list tables: %v", err)
	}
	for rows.Next() {
		var t string
		rows.Scan(&t)
		tables = append(tables, t)
	}
	rows.Close()
	if len(tables) == 0 {
		tb.Fatal("dump: no tables")
	}
	var out bytes.Buffer
	for _, t := range tables {
		rows, err := db.Query(`SELECT * FROM "` + t + `"`)
		if err != nil {
			tb.Fatalf("dump %s: %v", t, err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				tb.Fatalf("dump %s: %v", t, err)
			}
			fmt.Fprintf(&out, "%s:", t)
			for i, v := range vals {
				switch v := v.(type) {
				case []byte:
					fmt.Fprintf(&out, " %s=", cols[i])
					out.Write(v)
				default:
					fmt.Fprintf(&out, " %s=%v", cols[i], v)
				}
			}
			out.WriteByte('\n')
		}
		if err := rows.Err(); err != nil {
			tb.Fatalf("dump %s: %v", t, err)
		}
		rows.Close()
	}
	if !pg {
		files, _ := filepath.Glob(path + "*")
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				tb.Fatalf("dump: %v", err)
			}
			out.Write(b)
		}
	}
	return out.Bytes()
}
