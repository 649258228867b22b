package cli

import (
	"strconv"
	"strings"
	"unicode"
)

// printable escapes the control and other non-printing characters of a
// string the server relays from agents or pipeline files (agent names,
// host info, labels, workspace paths, job and stage names), as Go escapes
// them (\x1b, \t, \u202e): printed raw, an escape sequence could recolor
// or retitle the terminal, move the cursor over earlier output, or hide
// text. keep lists characters left as they are ("\n" for messages).
func printable(s, keep string) string {
	escape := func(r rune) bool { return r != ' ' && !unicode.IsPrint(r) && !strings.ContainsRune(keep, r) }
	if !strings.ContainsFunc(s, escape) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if escape(r) {
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
		} else {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// field is printable for one field of a table or line.
func field(s string) string { return printable(s, "") }

// fields is field for each of a list, joined by commas.
func fields(list []string) string {
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = field(s)
	}
	return strings.Join(out, ",")
}
