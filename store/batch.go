package store

import (
	"context"
	"strings"
)

// batchRows is how many rows one multi-row statement writes. A fixed size
// keeps the number of distinct statements at two per kind (a full batch
// and a single row), so the statement cache is not filled by one statement
// per row count.
const batchRows = 100

// execBatches writes rows (each a list of cols arguments) with head
// ("INSERT INTO t (a, b) VALUES") and tail (an ON CONFLICT clause, or ""):
// full batches of batchRows, the rest one row at a time.
func (t *txn) execBatches(ctx context.Context, head, tail string, cols int, rows [][]any) error {
	one := "(" + strings.TrimSuffix(strings.Repeat("?, ", cols), ", ") + ")"
	full := head + " " + strings.TrimSuffix(strings.Repeat(one+", ", batchRows), ", ") + tail
	for len(rows) >= batchRows {
		args := make([]any, 0, batchRows*cols)
		for _, r := range rows[:batchRows] {
			args = append(args, r...)
		}
		if _, err := t.exec(ctx, full, args...); err != nil {
			return err
		}
		rows = rows[batchRows:]
	}
	for _, r := range rows {
		if _, err := t.exec(ctx, head+" "+one+tail, r...); err != nil {
			return err
		}
	}
	return nil
}
