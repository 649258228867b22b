package secret

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"html"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The textual escapes of a value that Forms lists: URL, JSON, XML and
// shell quoting. Each function returns the forms as they appear inside the
// surrounding quotes (if any), so a form is found wherever the tool put
// the quotes; Forms drops duplicates.

// urlForms are the URL encodings: Go's query and path escaping, the
// strict escaping of everything but RFC 3986's unreserved characters
// (Python's quote(v, safe="")) and JavaScript's encodeURIComponent, each
// also with lower-case hex digits; and spaces as '+' with nothing else
// escaped.
func urlForms(v string) []string {
	out := []string{strings.ReplaceAll(v, " ", "+")}
	for _, f := range []string{url.QueryEscape(v), url.PathEscape(v), percentEscape(v, "-._~"), percentEscape(v, "-._~!'()*")} {
		out = append(out, f, lowerPercent(f))
	}
	return out
}

// percentEscape writes every byte as %XX but ASCII letters, digits and
// those in keep.
func percentEscape(v, keep string) string {
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		c := v[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte(keep, c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// lowerPercent writes the hex digits of each %XX in lower case.
func lowerPercent(s string) string {
	b := []byte(s)
	for i := 0; i+2 < len(b); i++ {
		if b[i] == '%' {
			b[i+1], b[i+2] = lowerHex(b[i+1]), lowerHex(b[i+2])
			i += 2
		}
	}
	return string(b)
}

func lowerHex(c byte) byte {
	if 'A' <= c && c <= 'F' {
		return c + 'a' - 'A'
	}
	return c
}

// xmlForms are the XML (and HTML) escapes of a value in a text node or an
// attribute, as test reports carry it: &, < and > escaped (Python's
// xml.sax.saxutils.escape, ElementTree's text), with " too (ElementTree's
// attributes), with both quotes as named entities (&quot;, &apos;), as
// Python's html.escape writes it (&quot;, &#x27;), and as Go's
// html.EscapeString and xml.EscapeText write it (&#34;, &#39;, and the
// latter's &#xA;, &#xD; and &#x9;).
func xmlForms(v string) []string {
	text := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(v)
	var goXML strings.Builder
	xml.EscapeText(&goXML, []byte(v))
	return []string{
		text,
		strings.ReplaceAll(text, `"`, "&quot;"),
		strings.NewReplacer(`"`, "&quot;", "'", "&apos;").Replace(text),
		strings.NewReplacer(`"`, "&quot;", "'", "&#x27;").Replace(text),
		html.EscapeString(v),
		goXML.String(),
	}
}

// jsonForms are the JSON string encodings without their quotes.
func jsonForms(v string) []string {
	html, _ := json.Marshal(v) // a string always marshals
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
	plain := strings.TrimSuffix(buf.String(), "\n")
	unquote := func(s string) string { return s[1 : len(s)-1] }
	return []string{unquote(string(html)), unquote(plain), asciiJSON(unquote(plain)), strings.ReplaceAll(unquote(plain), "/", `\/`)}
}

// asciiJSON writes every non-ASCII character of an encoded JSON string as
// \uXXXX (a UTF-16 surrogate pair beyond the BMP), as Python does.
func asciiJSON(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r < utf8.RuneSelf:
			b.WriteRune(r)
		case r > 0xFFFF:
			r -= 0x10000
			fmt.Fprintf(&b, `\u%04x\u%04x`, 0xD800+(r>>10), 0xDC00+(r&0x3FF))
		default:
			fmt.Fprintf(&b, `\u%04x`, r)
		}
	}
	return b.String()
}

// shellForms are the shell-quoted forms: printf %q's backslash form and the
// inside of its $'…' form (UTF-8 and C locale), and the inside of the
// single-quoted forms.
func shellForms(v string) []string {
	return []string{backslashQuote(v), ansiCQuote(v, true), ansiCQuote(v, false),
		strings.ReplaceAll(v, "'", `'\''`), strings.ReplaceAll(v, "'", `'"'"'`)}
}

// backslashQuote is bash's printf %q for a value with no control
// characters (bash's sh_backslash_quote).
func backslashQuote(v string) string {
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case strings.IndexByte(" \t\n'\"\\|&;()<>!{}*[?]^$`,", c) >= 0,
			c == '~' && (i == 0 || v[i-1] == '=' || v[i-1] == ':'),
			c == '#' && i == 0:
			b.WriteByte('\\')
		}
		b.WriteByte(c)
	}
	return b.String()
}

// ansiCQuote is the inside of bash's $'…' quoting (ansic_quote): C escapes
// for control characters, octal for other unprintable bytes; in a UTF-8
// locale printable non-ASCII characters stay as they are, in the C locale
// every byte above 0x7F is unprintable.
func ansiCQuote(v string, utf8Locale bool) string {
	var b strings.Builder
	for i := 0; i < len(v); {
		r, n := utf8.DecodeRuneInString(v[i:])
		if utf8Locale && r >= utf8.RuneSelf && !(r == utf8.RuneError && n == 1) && unicode.IsPrint(r) {
			b.WriteString(v[i : i+n])
			i += n
			continue
		}
		c := v[i]
		i++
		if e := strings.IndexByte("\a\b\f\n\r\t\v\x1b\\'", c); e >= 0 {
			b.WriteString([]string{`\a`, `\b`, `\f`, `\n`, `\r`, `\t`, `\v`, `\E`, `\\`, `\'`}[e])
			continue
		}
		if c < 0x20 || c >= 0x7F {
			fmt.Fprintf(&b, `\%03o`, c)
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}
