package secret

import (
	"encoding/base64"
	"net/url"
	"strings"
)

// MinLength is the shortest value Lathe accepts as a secret: shorter ones
// cannot be masked in logs without masking ordinary text too.
const MinLength = 6

// Forms lists the strings a value may appear as in job output, each of
// which the masker replaces:
//
//   - the value itself;
//   - its base64 encodings, standard and URL alphabets, at each of the three
//     alignments it can have inside a longer encoded stream (only the
//     characters that depend on the value alone, so the form is found
//     whatever bytes surround the value);
//   - its URL encodings (url.QueryEscape and url.PathEscape);
//   - for a multi-line value, each line (without its line ending) of at
//     least MinLength bytes, and that line's URL encodings, since tools
//     print long values a line at a time.
//
// Duplicates are left out. Base64 wrapped over several lines (as base64(1)
// does past 76 characters) is not covered.
func Forms(value string) []string {
	var out []string
	seen := map[string]bool{}
	add := func(s string, min int) {
		if len(s) >= min && len(s) > 0 && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	add(value, 1)
	for _, enc := range []*base64.Encoding{base64.RawStdEncoding, base64.RawURLEncoding} {
		for align := range 3 {
			add(base64Core(enc, value, align), 4)
		}
	}
	add(url.QueryEscape(value), 1)
	add(url.PathEscape(value), 1)
	if strings.ContainsAny(value, "\r\n") {
		for _, line := range strings.Split(value, "\n") {
			line = strings.TrimSuffix(line, "\r")
			add(line, MinLength)
			add(url.QueryEscape(line), MinLength)
			add(url.PathEscape(line), MinLength)
		}
	}
	return out
}

// base64Core encodes value as if align bytes preceded it in the stream and
// keeps only the characters made of the value's bits alone.
func base64Core(enc *base64.Encoding, value string, align int) string {
	buf := make([]byte, align+len(value))
	copy(buf[align:], value)
	s := enc.EncodeToString(buf)
	from := (8*align + 5) / 6          // first character with no bit of the prefix
	to := 8 * (align + len(value)) / 6 // characters wholly inside the value end here
	if to <= from {
		return ""
	}
	return s[from:to]
}
