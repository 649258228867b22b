package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/lathe-ci/lathe/internal/pgtest"
	"github.com/lathe-ci/lathe/store"
)

// TestMigrationsMakeTheSameSchema migrates a fresh SQLite file and a fresh
// PostgreSQL database and compares what the two databases say they hold:
// tables, columns (name, type class, nullability, default), primary keys,
// indexes (name, columns, uniqueness, partial or not) and foreign keys. The
// store runs one set of queries on both, so a column or index that one
// side lacks is a bug that only shows on that engine.
func TestMigrationsMakeTheSameSchema(t *testing.T) {
	ctx := t.Context()
	litePath := filepath.Join(t.TempDir(), "lathe.db")
	pgURL := pgtest.Shared(t).NewDatabase(t)
	for _, dsn := range []string{litePath, pgURL} {
		s, err := store.Open(ctx, dsn) // migrates
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	lite, err := sql.Open("sqlite", "file:"+litePath+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer lite.Close()
	pg, err := sql.Open("pgx", pgURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()

	a, err := sqliteSchema(ctx, lite)
	if err != nil {
		t.Fatalf("read the SQLite schema: %v", err)
	}
	b, err := postgresSchema(ctx, pg)
	if err != nil {
		t.Fatalf("read the PostgreSQL schema: %v", err)
	}
	if len(a) == 0 || len(b) == 0 {
		t.Fatalf("no tables read: sqlite %d, postgres %d", len(a), len(b))
	}
	t.Logf("sqlite: %s; postgres: %s", a.summary(), b.summary())
	for _, d := range diffSchemas(a, b) {
		t.Error(d)
	}
}

func (s schema) summary() string {
	var cols, idx, fks, auto int
	for _, tb := range s {
		cols, idx, fks = cols+len(tb.columns), idx+len(tb.indexes), fks+len(tb.foreignKeys)
		for _, c := range tb.columns {
			if c.dflt == "identity" {
				auto++
			}
		}
	}
	return fmt.Sprintf("%d tables, %d columns (%d identities), %d indexes, %d foreign keys", len(s), cols, auto, idx, fks)
}

// schema is what the comparison sees of a database: its tables by name.
type schema map[string]*table

type table struct {
	columns map[string]column
	// primaryKey lists the key's columns in order.
	primaryKey []string
	// indexes are keyed by name for an index made by CREATE INDEX, and by
	// "unique (a, b)" for one a UNIQUE constraint made: each engine names
	// those its own way.
	indexes map[string]index
	// foreignKeys are each written as "(a, b) → other (x, y) on delete …
	// on update …".
	foreignKeys []string
}

type column struct {
	// class is the type's class: integer, text, bytes, real or boolean.
	class   string
	notNull bool
	// dflt is the normalised default: "" for none, "identity" for a key
	// the database assigns.
	dflt string
}

type index struct {
	columns []string
	unique  bool
	partial bool
}

func (c column) String() string {
	s := c.class
	if c.notNull {
		s += " not null"
	} else {
		s += " null"
	}
	if c.dflt != "" {
		s += " default " + c.dflt
	}
	return s
}

func (i index) String() string {
	s := "(" + strings.Join(i.columns, ", ") + ")"
	if i.unique {
		s = "unique " + s
	}
	if i.partial {
		s += " partial"
	}
	return s
}

// typeClass maps a declared type to its class. The engines name the same
// storage differently, and the store's queries treat them the same:
// SQLite's INTEGER is 64-bit like PostgreSQL's BIGINT, BLOB is BYTEA, REAL
// is DOUBLE PRECISION. An unknown type is kept as written, so it shows up
// in the comparison.
func typeClass(declared string) string {
	t := strings.ToLower(strings.TrimSpace(declared))
	if i := strings.IndexByte(t, '('); i >= 0 {
		t = strings.TrimSpace(t[:i]) // varchar(64) is varchar
	}
	switch t {
	case "integer", "int", "bigint", "smallint", "int8", "int4", "int2":
		return "integer"
	case "text", "character varying", "varchar", "character", "char":
		return "text"
	case "blob", "bytea":
		return "bytes"
	case "real", "double precision", "double", "float", "numeric":
		return "real"
	case "boolean", "bool":
		return "boolean"
	}
	return t
}

var castRE = regexp.MustCompile(`::[a-z ]+(\[\])?`)

// normalDefault writes a default expression the same way for both engines:
// without PostgreSQL's casts ('x'::text), surrounding parentheses or case
// differences; NULL is no default.
func normalDefault(expr sql.NullString) string {
	if !expr.Valid {
		return ""
	}
	s := castRE.ReplaceAllString(strings.TrimSpace(expr.String), "")
	for strings.HasPrefix(s, "(") && strings.HasSuffix(s, ")") {
		s = strings.TrimSpace(s[1 : len(s)-1])
	}
	if strings.EqualFold(s, "null") {
		return ""
	}
	if !strings.HasPrefix(s, "'") {
		s = strings.ToLower(s)
	}
	return s
}

func sqliteSchema(ctx context.Context, db *sql.DB) (schema, error) {
	names, err := strings1(ctx, db, `SELECT name FROM sqlite_master WHERE type = 'table'
		AND name NOT LIKE 'sqlite\_%' ESCAPE '\' AND name <> 'goose_db_version' ORDER BY name`)
	if err != nil {
		return nil, err
	}
	auto, err := strings1(ctx, db, `SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE '%AUTOINCREMENT%'`)
	if err != nil {
		return nil, err
	}
	autoincrement := map[string]bool{}
	for _, name := range auto {
		autoincrement[name] = true
	}
	out := schema{}
	for _, name := range names {
		tb := &table{columns: map[string]column{}, indexes: map[string]index{}}
		out[name] = tb
		rows, err := db.QueryContext(ctx, `SELECT name, type, "notnull", dflt_value, pk FROM pragma_table_info(?)`, name)
		if err != nil {
			return nil, err
		}
		pk := map[int]string{}
		for rows.Next() {
			var col, typ string
			var notNull bool
			var dflt sql.NullString
			var pkPos int
			if err := rows.Scan(&col, &typ, &notNull, &dflt, &pkPos); err != nil {
				rows.Close()
				return nil, err
			}
			tb.columns[col] = column{class: typeClass(typ), notNull: notNull, dflt: normalDefault(dflt)}
			if pkPos > 0 {
				pk[pkPos] = col
			}
		}
		if err := rows.Close(); err != nil {
			return nil, err
		}
		for i := 1; i <= len(pk); i++ {
			tb.primaryKey = append(tb.primaryKey, pk[i])
		}
		// A lone INTEGER PRIMARY KEY is SQLite's rowid: never null, though
		// table_info reports it nullable. With AUTOINCREMENT the database
		// assigns it and never reuses one, as PostgreSQL's identity columns
		// do; without, it is a key the store sets itself (a singleton's 1,
		// another table's id).
		if len(tb.primaryKey) == 1 {
			if c := tb.columns[tb.primaryKey[0]]; c.class == "integer" {
				c.notNull = true
				if autoincrement[name] {
					c.dflt = "identity"
				}
				tb.columns[tb.primaryKey[0]] = c
			}
		}

		type listed struct {
			name, origin    string
			unique, partial bool
		}
		var idx []listed
		rows, err = db.QueryContext(ctx, `SELECT name, "unique", origin, partial FROM pragma_index_list(?)`, name)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var l listed
			if err := rows.Scan(&l.name, &l.unique, &l.origin, &l.partial); err != nil {
				rows.Close()
				return nil, err
			}
			idx = append(idx, l)
		}
		if err := rows.Close(); err != nil {
			return nil, err
		}
		for _, l := range idx {
			if l.origin == "pk" {
				continue // the primary key is compared as such
			}
			cols, err := strings1(ctx, db, `SELECT coalesce(name, '<expression>') FROM pragma_index_xinfo(?) WHERE key ORDER BY seqno`, l.name)
			if err != nil {
				return nil, err
			}
			ix := index{columns: cols, unique: l.unique, partial: l.partial}
			if l.origin == "u" {
				tb.indexes[ix.String()] = ix
			} else {
				tb.indexes[l.name] = ix
			}
		}

		rows, err = db.QueryContext(ctx, `SELECT id, "table", "from", coalesce("to", ''), on_update, on_delete
			FROM pragma_foreign_key_list(?) ORDER BY id, seq`, name)
		if err != nil {
			return nil, err
		}
		type fk struct {
			ref, onUpdate, onDelete string
			from, to                []string
		}
		var fks []*fk
		last := -1
		for rows.Next() {
			var id int
			var ref, from, to, onUpdate, onDelete string
			if err := rows.Scan(&id, &ref, &from, &to, &onUpdate, &onDelete); err != nil {
				rows.Close()
				return nil, err
			}
			if id != last {
				fks = append(fks, &fk{ref: ref, onUpdate: onUpdate, onDelete: onDelete})
				last = id
			}
			f := fks[len(fks)-1]
			f.from, f.to = append(f.from, from), append(f.to, to)
		}
		if err := rows.Close(); err != nil {
			return nil, err
		}
		for _, f := range fks {
			if slices.Contains(f.to, "") { // REFERENCES t without columns: t's primary key
				f.to, err = strings1(ctx, db, `SELECT name FROM pragma_table_info(?) WHERE pk > 0 ORDER BY pk`, f.ref)
				if err != nil {
					return nil, err
				}
			}
			tb.foreignKeys = append(tb.foreignKeys, foreignKey(f.from, f.ref, f.to, f.onDelete, f.onUpdate))
		}
	}
	return out, nil
}

func postgresSchema(ctx context.Context, db *sql.DB) (schema, error) {
	out := schema{}
	rows, err := db.QueryContext(ctx, `SELECT table_name, column_name, data_type, is_nullable = 'YES',
		column_default, is_identity = 'YES'
		FROM information_schema.columns c
		WHERE table_schema = current_schema() AND table_name <> 'goose_db_version'
		  AND table_name IN (SELECT table_name FROM information_schema.tables
		                     WHERE table_schema = current_schema() AND table_type = 'BASE TABLE')`)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var tname, col, typ string
		var nullable, identity bool
		var dflt sql.NullString
		if err := rows.Scan(&tname, &col, &typ, &nullable, &dflt, &identity); err != nil {
			rows.Close()
			return nil, err
		}
		tb := out[tname]
		if tb == nil {
			tb = &table{columns: map[string]column{}, indexes: map[string]index{}}
			out[tname] = tb
		}
		c := column{class: typeClass(typ), notNull: !nullable, dflt: normalDefault(dflt)}
		if identity || strings.HasPrefix(c.dflt, "nextval(") {
			c.dflt = "identity"
		}
		tb.columns[col] = c
	}
	if err := rows.Close(); err != nil {
		return nil, err
	}

	// Indexes, with the constraint each one backs if any. Columns come in
	// key order; an expression is 0 in indkey.
	rows, err = db.QueryContext(ctx, `SELECT t.relname, i.relname, x.indisunique, x.indisprimary, x.indpred IS NOT NULL,
		coalesce(con.contype, ''),
		array_to_string(ARRAY(SELECT coalesce(a.attname, '<expression>')
			FROM unnest(x.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
			LEFT JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum
			WHERE k.ord <= x.indnkeyatts
			ORDER BY k.ord), ',')
		FROM pg_index x
		JOIN pg_class t ON t.oid = x.indrelid
		JOIN pg_class i ON i.oid = x.indexrelid
		JOIN pg_namespace n ON n.oid = t.relnamespace
		LEFT JOIN pg_constraint con ON con.conindid = x.indexrelid AND con.contype IN ('p', 'u')
		WHERE n.nspname = current_schema() AND t.relname <> 'goose_db_version'`)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var tname, iname, contype, cols string
		var unique, primary, partial bool
		if err := rows.Scan(&tname, &iname, &unique, &primary, &partial, &contype, &cols); err != nil {
			rows.Close()
			return nil, err
		}
		tb := out[tname]
		if tb == nil {
			continue
		}
		ix := index{columns: strings.Split(cols, ","), unique: unique, partial: partial}
		switch {
		case primary:
			tb.primaryKey = ix.columns
		case contype == "u":
			tb.indexes[ix.String()] = ix
		default:
			tb.indexes[iname] = ix
		}
	}
	if err := rows.Close(); err != nil {
		return nil, err
	}

	rows, err = db.QueryContext(ctx, `SELECT t.relname, r.relname, con.confupdtype, con.confdeltype,
		array_to_string(ARRAY(SELECT a.attname FROM unnest(con.conkey) WITH ORDINALITY AS k(attnum, ord)
			JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum ORDER BY k.ord), ','),
		array_to_string(ARRAY(SELECT a.attname FROM unnest(con.confkey) WITH ORDINALITY AS k(attnum, ord)
			JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.attnum ORDER BY k.ord), ',')
		FROM pg_constraint con
		JOIN pg_class t ON t.oid = con.conrelid
		JOIN pg_class r ON r.oid = con.confrelid
		JOIN pg_namespace n ON n.oid = t.relnamespace
		WHERE con.contype = 'f' AND n.nspname = current_schema()`)
	if err != nil {
		return nil, err
	}
	actions := map[string]string{"a": "NO ACTION", "r": "RESTRICT", "c": "CASCADE", "n": "SET NULL", "d": "SET DEFAULT"}
	for rows.Next() {
		var tname, ref, onUpdate, onDelete, from, to string
		if err := rows.Scan(&tname, &ref, &onUpdate, &onDelete, &from, &to); err != nil {
			rows.Close()
			return nil, err
		}
		if tb := out[tname]; tb != nil {
			tb.foreignKeys = append(tb.foreignKeys,
				foreignKey(strings.Split(from, ","), ref, strings.Split(to, ","), actions[onDelete], actions[onUpdate]))
		}
	}
	return out, rows.Close()
}

func foreignKey(from []string, ref string, to []string, onDelete, onUpdate string) string {
	return fmt.Sprintf("(%s) → %s (%s) on delete %s on update %s",
		strings.Join(from, ", "), ref, strings.Join(to, ", "), strings.ToLower(onDelete), strings.ToLower(onUpdate))
}

// strings1 runs a query of one text column.
func strings1(ctx context.Context, db *sql.DB, query string, args ...any) ([]string, error) {
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// diffSchemas lists every difference between the SQLite schema a and the
// PostgreSQL schema b, one line each, in a stable order.
func diffSchemas(a, b schema) []string {
	var out []string
	say := func(what, sqlite, postgres string) {
		out = append(out, fmt.Sprintf("%s: sqlite says %s, postgres says %s", what, sqlite, postgres))
	}
	orNone := func(s string, ok bool) string {
		if !ok {
			return "none"
		}
		return s
	}
	for _, name := range unionKeys(a, b) {
		ta, inA := a[name]
		tb, inB := b[name]
		if !inA || !inB {
			say("table "+name, orNone("a table", inA), orNone("a table", inB))
			continue
		}
		for _, col := range unionKeys(ta.columns, tb.columns) {
			ca, okA := ta.columns[col]
			cb, okB := tb.columns[col]
			if ca != cb || okA != okB {
				say(name+"."+col, orNone(ca.String(), okA), orNone(cb.String(), okB))
			}
		}
		if !slices.Equal(ta.primaryKey, tb.primaryKey) {
			say(name+" primary key", "("+strings.Join(ta.primaryKey, ", ")+")", "("+strings.Join(tb.primaryKey, ", ")+")")
		}
		for _, ix := range unionKeys(ta.indexes, tb.indexes) {
			ia, okA := ta.indexes[ix]
			ib, okB := tb.indexes[ix]
			if ia.String() != ib.String() || okA != okB {
				say(name+" index "+ix, orNone(ia.String(), okA), orNone(ib.String(), okB))
			}
		}
		slices.Sort(ta.foreignKeys)
		slices.Sort(tb.foreignKeys)
		for _, fk := range ta.foreignKeys {
			if !slices.Contains(tb.foreignKeys, fk) {
				say(name+" foreign key "+fk, "yes", "none")
			}
		}
		for _, fk := range tb.foreignKeys {
			if !slices.Contains(ta.foreignKeys, fk) {
				say(name+" foreign key "+fk, "none", "yes")
			}
		}
	}
	return out
}

func unionKeys[V any](a, b map[string]V) []string {
	var keys []string
	for k := range a {
		keys = append(keys, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}
