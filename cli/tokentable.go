package cli

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"
)

// tokenRow is one line of a table of secret tokens (registration or
// webhook): never the secret, only when it was made, used and revoked.
type tokenRow struct {
	ID                int64
	Name              string
	CreatedAt         time.Time
	LastUsed, Revoked *time.Time
}

// printTokens prints tokens as a table.
func printTokens(w io.Writer, rows []tokenRow) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tCREATED\tLAST USED\tREVOKED")
	for _, t := range rows {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", t.ID, field(t.Name), t.CreatedAt.Local().Format(time.DateTime), fmtTime(t.LastUsed), fmtTime(t.Revoked))
	}
	tw.Flush()
}
