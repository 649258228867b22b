package store

import (
	"context"
	"fmt"

	lathe "github.com/lathe-ci/lathe"
)

// AddTestComment adds a comment to a test case; c's ID and time are set.
func (s *Store) AddTestComment(ctx context.Context, c *lathe.TestComment) error {
	return s.tx(ctx, func(t *txn) error {
		c.CreatedAt = t.now
		err := t.queryRow(ctx, `INSERT INTO test_case_comments (test_case_id, author, state, text, created_at)
			SELECT id, ?, ?, ?, ? FROM test_cases WHERE id = ? RETURNING id`,
			c.Author, c.State, c.Text, micros(t.now), c.TestCaseID).Scan(&c.ID)
		return notFoundOrNil(err, "test case", c.TestCaseID)
	})
}

// TestComments lists a test case's comments, newest first.
func (s *Store) TestComments(ctx context.Context, testCaseID, before int64, limit int) (lathe.Page[*lathe.TestComment], error) {
	if _, err := s.TestCase(ctx, testCaseID); err != nil {
		return lathe.Page[*lathe.TestComment]{}, err
	}
	where := []string{"test_case_id = ?"}
	args := []any{testCaseID}
	if before > 0 {
		where, args = append(where, "id < ?"), append(args, before)
	}
	rows, err := s.query(ctx, `SELECT id, test_case_id, author, state, text, created_at FROM test_case_comments`+
		whereClause(where)+` ORDER BY id DESC LIMIT ?`, append(args, limit+1)...)
	if err != nil {
		return lathe.Page[*lathe.TestComment]{}, fmt.Errorf("comments of test case %d: %w", testCaseID, err)
	}
	defer rows.Close()
	var items []*lathe.TestComment
	for rows.Next() {
		var c lathe.TestComment
		var created int64
		if err := rows.Scan(&c.ID, &c.TestCaseID, &c.Author, &c.State, &c.Text, &created); err != nil {
			return lathe.Page[*lathe.TestComment]{}, err
		}
		c.CreatedAt = fromMicros(created)
		items = append(items, &c)
	}
	return page(items, limit, func(c *lathe.TestComment) int64 { return c.ID }), rows.Err()
}
