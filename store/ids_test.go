package store_test

import (
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
)

// Every SQLite table whose rows are numbered by an id column is
// AUTOINCREMENT, so a deleted row's id is never handed out again (as with
// PostgreSQL's sequences); a table added later without it fails here.
func TestSQLiteIDTablesAreAutoincrement(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lathe.db")
	open(t, path)
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT m.name, m.sql FROM sqlite_schema m JOIN pragma_table_info(m.name) c
		WHERE m.type = 'table' AND c.name = 'id' AND c.pk = 1 AND upper(c.type) = 'INTEGER'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var name, def string
		if err := rows.Scan(&name, &def); err != nil {
			t.Fatal(err)
		}
		n++
		// A one-row table (CHECK (id = 1)) has no ids to reuse.
		if !strings.Contains(def, "AUTOINCREMENT") && !strings.Contains(def, "CHECK (id = 1)") {
			t.Errorf("table %s numbers its rows by id without AUTOINCREMENT: a deleted row's id would be reused", name)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if n < 15 {
		t.Fatalf("found %d tables with an integer id, want at least 15", n)
	}
}
