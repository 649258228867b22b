package store

import (
	"database/sql"
	"fmt"
	"strings"

	lathe "github.com/lathe-ci/lathe"
)

// page trims a list fetched with limit+1 rows to limit and sets the cursor
// for the next page when there is one.
func page[T any](items []T, limit int, id func(T) int64) lathe.Page[T] {
	p := lathe.Page[T]{Items: items}
	if p.Items == nil {
		p.Items = []T{}
	}
	if len(items) > limit {
		p.Items = items[:limit]
		next := id(items[limit-1])
		p.Next = &next
	}
	return p
}

func whereClause(conds []string) string {
	if len(conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(conds, " AND ")
}

func mustAffect(res sql.Result, what string, id any) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("%s %v: %w", what, id, lathe.ErrNotFound)
	}
	return nil
}
