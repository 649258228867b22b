package secret

import (
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"net/url"
	"strings"
)

// MinLength is the shortest value Lathe accepts as a secret: shorter ones
// cannot be masked in logs without masking ordinary text too.
const MinLength = 6

// MaxEncodedLength is the longest value whose hex, base32, JSON, shell and
// extra URL forms are masked. The masker's memory grows with the total
// length of the forms (a 64 KiB value with every form would take some
// 380 MB); a longer value (a key file, a kubeconfig) keeps its plain,
// base64, Go URL and line forms, and its lines are what JSON or shell
// quoting leave intact.
const MaxEncodedLength = 4 << 10

// Forms lists the strings a value may appear as in job output, each of
// which the masker replaces:
//
//   - the value itself;
//   - its base64 encodings, standard and URL alphabets, at each of the three
//     alignments it can have inside a longer encoded stream (only the
//     characters that depend on the value alone, so the form is found
//     whatever bytes surround the value);
//   - its URL encodings by Go's url.QueryEscape and url.PathEscape;
//   - for a multi-line value, each line (without its line ending) of at
//     least MinLength bytes, and that line's URL encodings, since tools
//     print long values a line at a time.
//
// A value of at most MaxEncodedLength bytes also has these forms masked:
//
//   - its base32 encoding (standard alphabet, as base32(1) prints it) at
//     each of its five alignments, the same way as base64;
//   - its hex encoding, lower and upper case (as xxd -p prints it);
//   - its strict URL encodings: every byte but RFC 3986's unreserved
//     characters escaped (Python's quote with safe=""), and JavaScript's
//     encodeURIComponent; each URL encoding also with lower-case %xx; and
//     the value with '+' for each space;
//   - its JSON string encodings (without the quotes): as Go writes them
//     (<, > and & escaped), without HTML escaping (jq, JavaScript), with
//     every non-ASCII character as \uXXXX (Python's default), and with '/'
//     written as '\/' (PHP);
//   - its XML and HTML escapes (&amp;, &lt;, &gt;, and quotes as &quot;,
//     &apos;, &#34; or &#39;), as test reports and web pages carry it;
//   - its shell-quoted forms: bash's printf %q with backslashes, the
//     inside of printf %q's $'...' form in a UTF-8 and in the C locale, and
//     the inside of a single-quoted word where each single quote is closed,
//     escaped and reopened (bash's ${v@Q}) or closed, double-quoted and
//     reopened (Python's shlex.quote).
//
// No form ends in a line ending: the log keeps the line end after a
// masked value (a file's contents, as `cat` prints them), so what follows
// starts a new line as it did unmasked; a value's line endings are no
// secret. A value of at most MaxEncodedLength bytes that ends in one has
// every form of the value without it too (as `$(cat file)` leaves it).
//
// Duplicates are left out. Not covered: base64, base32 or hex wrapped or
// grouped over several lines or words (base64(1) past 76 characters, xxd's
// default layout, od), and any other encoding or transformation.
func Forms(value string) []string {
	var out []string
	seen := map[string]bool{}
	out = valueForms(value, out, seen)
	if trimmed := strings.TrimRight(value, "\r\n"); trimmed != value && len(value) <= MaxEncodedLength {
		out = valueForms(trimmed, out, seen)
	}
	return out
}

// valueForms appends to out the forms of value not seen yet (see Forms).
func valueForms(value string, out []string, seen map[string]bool) []string {
	add := func(s string, min int) {
		s = strings.TrimRight(s, "\r\n")
		if len(s) >= min && len(s) > 0 && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	addAll := func(forms []string, min int) {
		for _, f := range forms {
			add(f, min)
		}
	}
	add(value, 1)
	for _, enc := range []*base64.Encoding{base64.RawStdEncoding, base64.RawURLEncoding} {
		for align := range 3 {
			add(streamCore(enc, 6, value, align), 4)
		}
	}
	add(url.QueryEscape(value), 1)
	add(url.PathEscape(value), 1)
	if len(value) <= MaxEncodedLength {
		for align := range 5 {
			add(streamCore(base32.StdEncoding.WithPadding(base32.NoPadding), 5, value, align), 4)
		}
		add(hex.EncodeToString([]byte(value)), 1)
		add(strings.ToUpper(hex.EncodeToString([]byte(value))), 1)
		addAll(urlForms(value), 1)
		addAll(jsonForms(value), 1)
		addAll(xmlForms(value), 1)
		addAll(shellForms(value), 1)
	}
	if strings.ContainsAny(value, "\r\n") {
		for _, line := range strings.Split(value, "\n") {
			line = strings.TrimSuffix(line, "\r")
			add(line, MinLength)
			addAll(urlForms(line), MinLength)
		}
	}
	return out
}

// streamEncoding is what base64 and base32 encodings have in common.
type streamEncoding interface{ EncodeToString([]byte) string }

// streamCore encodes value, with an encoding of bits bits per character,
// as if align bytes preceded it in the stream, and keeps only the
// characters made of the value's bits alone.
func streamCore(enc streamEncoding, bits int, value string, align int) string {
	buf := make([]byte, align+len(value))
	copy(buf[align:], value)
	s := enc.EncodeToString(buf)
	from := (8*align + bits - 1) / bits   // first character with no bit of the prefix
	to := 8 * (align + len(value)) / bits // characters wholly inside the value end here
	if to <= from {
		return ""
	}
	return s[from:to]
}
