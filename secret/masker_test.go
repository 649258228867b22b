package secret

import (
	"bytes"
	"encoding/base64"
	"io"
	"net/url"
	"os"
	"sort"
	"strings"
	"testing"
)

// testSecrets include values that overlap themselves and each other, need
// URL escaping, and span lines.
var testSecrets = []string{
	"hunter2-hunter2",
	"abcabd",
	"aaaaaa",
	"p@ss w0rd/é+?&=",
	"-----BEGIN KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEF\nAASCBKcwggSjAgEAAoIBAQC7\n-----END KEY-----\n",
}

// reference masks the whole input the slow, obvious way: find every
// occurrence of every form, merge overlapping ones, replace each with Mask.
func reference(in []byte, values []string) []byte {
	var forms []string
	for _, v := range values {
		forms = append(forms, Forms(v)...)
	}
	var rs []region
	for _, f := range forms {
		for i := 0; i+len(f) <= len(in); i++ {
			if string(in[i:i+len(f)]) == f {
				rs = append(rs, region{int64(i), int64(i + len(f))})
			}
		}
	}
	sort.Slice(rs, func(i, j int) bool { return rs[i].start < rs[j].start })
	var out []byte
	cur := int64(0)
	for i := 0; i < len(rs); {
		s, e := rs[i].start, rs[i].end
		for i++; i < len(rs) && rs[i].start < e; i++ {
			e = max(e, rs[i].end)
		}
		out = append(out, in[cur:s]...)
		out = append(out, Mask...)
		cur = e
	}
	return append(out, in[cur:]...)
}

// maskSplit writes in to a masker in pieces cut at the given sizes.
func maskSplit(t testing.TB, ms *Masks, in []byte, cuts []byte) []byte {
	var buf bytes.Buffer
	mw := ms.Writer(&buf)
	for i := 0; len(in) > 0; i++ {
		n := len(in)
		if len(cuts) > 0 {
			n = min(n, int(cuts[i%len(cuts)]))
		}
		if _, err := mw.Write(in[:n]); err != nil {
			t.Fatal(err)
		}
		in = in[n:]
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// Every form Forms promises, as real tools print it (base64, basenc,
// base32, xxd, Python's urllib, json, shlex, xml.sax.saxutils, html and
// ElementTree, jq, Go's encoding/json, encoding/xml and html,
// JavaScript's encodeURIComponent, PHP's json_encode, bash's printf %q and
// ${v@Q}), with the masked output written out: the inputs were made with
// those tools, not with this package.
func TestMaskerForms(t *testing.T) {
	ms := NewMasks([]string{"s3cr3t/välue+w ith?&'x\"<y", "line-one-abc\nline-two-def"})
	for _, tc := range []struct{ name, in, want string }{
		{"plain", "token=s3cr3t/välue+w ith?&'x\"<y done", "token=*** done"},
		{"base64 std", "Basic czNjcjN0L3bDpGx1ZSt3IGl0aD8mJ3giPHk=", "Basic ***k="},
		{"base64 std after 1 byte", "dXMzY3IzdC92w6RsdWUrdyBpdGg/Jid4Ijx5", "dX***"},
		{"base64 std after 2 bytes", "dXNzM2NyM3QvdsOkbHVlK3cgaXRoPyYneCI8eQ==", "dXN***Q=="},
		{"base64 url after 4 bytes", "dXNlcnMzY3IzdC92w6RsdWUrdyBpdGg_Jid4Ijx5", "dXNlcn***"},
		{"base32", "OMZWG4RTOQXXNQ5ENR2WKK3XEBUXI2B7EYTXQIR4PE======", "***E======"},
		{"base32 after 3 bytes", "MFRGG4ZTMNZDG5BPO3B2I3DVMUVXOIDJORUD6JRHPARDY6I=", "MFRGG***I="},
		{"hex lower", "7333637233742f76c3a46c75652b77206974683f262778223c79", "***"},
		{"hex upper", "7333637233742F76C3A46C75652B77206974683F262778223C79", "***"},
		{"query escaped", "?p=s3cr3t%2Fv%C3%A4lue%2Bw+ith%3F%26%27x%22%3Cy", "?p=***"},
		{"query escaped lower", "?p=s3cr3t%2fv%c3%a4lue%2bw+ith%3f%26%27x%22%3cy", "?p=***"},
		{"python quote", "/s3cr3t%2Fv%C3%A4lue%2Bw%20ith%3F%26%27x%22%3Cy/y", "/***/y"},
		{"plus for space", "s3cr3t/välue+w+ith?&'x\"<y", "***"},
		{"json jq", "{\"v\":\"s3cr3t/välue+w ith?&'x\\\"<y\"}", "{\"v\":\"***\"}"},
		{"json python", "{\"v\": \"s3cr3t/v\\u00e4lue+w ith?&'x\\\"<y\"}", "{\"v\": \"***\"}"},
		{"json go", "{\"v\":\"s3cr3t/välue+w ith?\\u0026'x\\\"\\u003cy\"}", "{\"v\":\"***\"}"},
		{"json php", "{\"v\":\"s3cr3t\\/välue+w ith?&'x\\\"<y\"}", "{\"v\":\"***\"}"},
		{"printf %q", "export V=s3cr3t/välue+w\\ ith\\?\\&\\'x\\\"\\<y", "export V=***"},
		{"printf %q C locale", "export V=$'s3cr3t/v\\303\\244lue+w ith?&\\'x\"<y'", "export V=$'***'"},
		{"shlex", "'s3cr3t/välue+w ith?&'\"'\"'x\"<y'", "'***'"},
		{"bash @Q", "'s3cr3t/välue+w ith?&'\\''x\"<y'", "'***'"},
		{"encodeURIComponent", "/s3cr3t%2Fv%C3%A4lue%2Bw%20ith%3F%26'x%22%3Cy/y", "/***/y"},
		{"go path escaped", "/s3cr3t%2Fv%C3%A4lue+w%20ith%3F&%27x%22%3Cy/y", "/***/y"},
		{"xml text (python escape, ElementTree)", "<t>s3cr3t/välue+w ith?&amp;'x\"&lt;y</t>", "<t>***</t>"},
		{"xml attribute (python quoteattr, ElementTree)", "<t m=\"s3cr3t/välue+w ith?&amp;'x&quot;&lt;y\"/>", "<t m=\"***\"/>"},
		{"html python", "<p>s3cr3t/välue+w ith?&amp;&#x27;x&quot;&lt;y</p>", "<p>***</p>"},
		{"html and xml go", "<p>s3cr3t/välue+w ith?&amp;&#39;x&#34;&lt;y</p>", "<p>***</p>"},
		{"multi-line value, one line", "saw line-two-def here", "saw *** here"},
		{"multi-line value, crlf", "line-one-abc\r\n", "***\r\n"},
	} {
		if got := ms.String(tc.in); got != tc.want {
			t.Errorf("%s: mask(%q) = %q, want %q", tc.name, tc.in, got, tc.want)
		}
	}
}

func TestMaskerTable(t *testing.T) {
	ms := NewMasks([]string{"abcabd", "hunter2-hunter2"})
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"nothing here", "nothing here"},
		{"abcabd", "***"},
		{"abcabcabd!", "abc***!"},
		{"xabcabdabcabdy", "x******y"}, // touching occurrences stay two
		{"abcab", "abcab"},             // a prefix at the end is passed on at Close
		{"hunter2-hunter2-hunter2", "***"},
	} {
		if got := ms.String(tc.in); got != tc.want {
			t.Errorf("mask(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestMaskerHoldsBackOnlyPossibleStarts(t *testing.T) {
	ms := NewMasks([]string{"abcabd"})
	var buf bytes.Buffer
	mw := ms.Writer(&buf)
	mw.Write([]byte("hello ab"))
	if got := buf.String(); got != "hello " {
		t.Errorf("after a partial prefix, passed on %q, want %q", got, "hello ")
	}
	mw.Write([]byte("x\n"))
	if got := buf.String(); got != "hello abx\n" {
		t.Errorf("after the prefix broke, passed on %q", got)
	}
	mw.Write([]byte("abca"))
	mw.Flush()
	if got := buf.String(); got != "hello abx\nabca" {
		t.Errorf("after Flush, passed on %q", got)
	}
}

func TestMaskerEverySplit(t *testing.T) {
	ms := NewMasks(testSecrets)
	in := []byte("start abcabcabd aaaaaaaa " + base64.StdEncoding.EncodeToString([]byte("x"+testSecrets[0])) +
		" " + url.QueryEscape(testSecrets[3]) + "\n" + testSecrets[4] + "MIIEvQIBADANBgkqhkiG9w0BAQEF end")
	want := reference(in, testSecrets)
	for i := 0; i <= len(in); i++ {
		for j := i; j <= len(in); j += 7 {
			var buf bytes.Buffer
			mw := ms.Writer(&buf)
			mw.Write(in[:i])
			mw.Write(in[i:j])
			mw.Write(in[j:])
			mw.Close()
			if !bytes.Equal(buf.Bytes(), want) {
				t.Fatalf("split at %d,%d:\n got %q\nwant %q", i, j, buf.Bytes(), want)
			}
		}
	}
}

func FuzzMasker(f *testing.F) {
	f.Add([]byte("abcabcabd hunter2-hunter2"), []byte{1, 2, 3})
	f.Add([]byte(base64.StdEncoding.EncodeToString([]byte("ab"+testSecrets[0]))), []byte{5})
	f.Add([]byte(url.PathEscape(testSecrets[3])+testSecrets[4]), []byte{1})
	f.Add([]byte("aaaaaaaaaaaaaaaaaaaabcabd"), []byte{0, 4, 9})
	ms := NewMasks(testSecrets)
	var forms []string
	for _, v := range testSecrets {
		forms = append(forms, Forms(v)...)
	}
	f.Fuzz(func(t *testing.T, in, cuts []byte) {
		cuts = bytes.Clone(cuts) // the fuzzer's inputs are not ours to change
		for i := range cuts {
			cuts[i] = max(cuts[i], 1)
		}
		got := maskSplit(t, ms, in, cuts)
		if whole := ms.Bytes(in); !bytes.Equal(got, whole) {
			t.Fatalf("split writes give %q; one write gives %q", got, whole)
		}
		if want := reference(in, testSecrets); !bytes.Equal(got, want) {
			t.Fatalf("got %q, want %q", got, want)
		}
		for _, f := range forms {
			if bytes.Contains(got, []byte(f)) {
				t.Fatalf("output %q holds %q", got, f)
			}
		}
	})
}

// logText is log-like output with no secrets in it.
func logText(n int) []byte {
	line := []byte("2024-05-01T12:00:00Z INFO compiling package github.com/example/project/internal/thing (42 files) ok=true\n")
	return bytes.Repeat(line, n/len(line)+1)[:n]
}

var benchSecrets = []string{"hunter2-hunter2", "ghp_16C7e42F292c6912E7710c838347Ae178B4a", "postgres://u:p%40ss@db/x",
	"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}

// BenchmarkMasker compares masking 5 secrets (each with all its Forms:
// base64, base32, hex, URL, JSON, shell) with a plain copy, in memory and
// into a file as the agent's spool.
func BenchmarkMasker(b *testing.B) {
	in := logText(1 << 20)
	const chunk = 32 << 10
	write := func(w io.Writer) {
		for i := 0; i < len(in); i += chunk {
			w.Write(in[i:min(i+chunk, len(in))])
		}
	}
	ms := NewMasks(benchSecrets)
	var buf bytes.Buffer
	file := func(b *testing.B) *os.File {
		f, err := os.CreateTemp(b.TempDir(), "spool")
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { f.Close() })
		return f
	}
	for _, c := range []struct {
		name string
		run  func(b *testing.B)
	}{
		{"copy-memory", func(b *testing.B) {
			for b.Loop() {
				buf.Reset()
				write(&buf)
			}
		}},
		{"mask-memory", func(b *testing.B) {
			for b.Loop() {
				buf.Reset()
				mw := ms.Writer(&buf)
				write(mw)
				mw.Close()
			}
		}},
		{"mask-memory-per-line", func(b *testing.B) {
			// One write per line, as a test runner flushing each line.
			for b.Loop() {
				buf.Reset()
				mw := ms.Writer(&buf)
				for rest := in; len(rest) > 0; {
					n := bytes.IndexByte(rest, '\n') + 1
					if n == 0 {
						n = len(rest)
					}
					mw.Write(rest[:n])
					rest = rest[n:]
				}
				mw.Close()
			}
		}},
		{"copy-file", func(b *testing.B) {
			f := file(b)
			for b.Loop() {
				f.Seek(0, 0)
				write(f)
			}
		}},
		{"mask-file", func(b *testing.B) {
			f := file(b)
			for b.Loop() {
				f.Seek(0, 0)
				mw := ms.Writer(f)
				write(mw)
				mw.Close()
			}
		}},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(in)))
			c.run(b)
		})
	}
}

// An occurrence that keeps growing (overlapping matches) is held whole but
// costs linear time, however small the writes.
func TestMaskerLongRunIsLinear(t *testing.T) {
	ms := NewMasks([]string{"aaaaaa"})
	in := append(bytes.Repeat([]byte("a"), 1<<20), '!')
	got := maskSplit(t, ms, in, []byte{1})
	if string(got) != "***!" {
		t.Errorf("got %q", got[:min(len(got), 20)])
	}
}

// A value longer than MaxEncodedLength keeps only its plain, base64, Go URL
// and line forms, so that a key file does not cost the masker hundreds of
// megabytes; up to that length its hex form is masked too.
func TestMaskerEncodedFormsStopAtMaxEncodedLength(t *testing.T) {
	short, long := strings.Repeat("ab", 2048), strings.Repeat("ab", 2049) // 4096 and 4098 bytes
	shortHex, longHex := strings.Repeat("6162", 2048), strings.Repeat("6162", 2049)
	if got := NewMasks([]string{short}).String("hex=" + shortHex); got != "hex=***" {
		t.Errorf("hex of a %d-byte value: %.20q…, want hex=***", len(short), got)
	}
	ms := NewMasks([]string{long})
	if got := ms.String("hex=" + longHex); got != "hex="+longHex {
		t.Errorf("hex of a %d-byte value was masked: %.20q…", len(long), got)
	}
	if got := ms.String("v=" + long + "!"); got != "v=***!" {
		t.Errorf("a %d-byte value: %.20q…, want v=***!", len(long), got)
	}
}

// A value ending in a line ending (a kind-file secret, as `cat` prints it)
// is masked without it: the log keeps its lines, and what follows the
// value starts a new line as it did unmasked. The value's forms with and
// without the line ending (`base64 < file`, `$(cat file)`) stay masked.
func TestMaskerKeepsTheLineEndAfterAValue(t *testing.T) {
	ms := NewMasks([]string{"file-s3cret-v4lue\n", "crlf-s3cret-v4lue\r\n"})
	for _, tc := range []struct{ name, in, want string }{
		{"cat", "file-s3cret-v4lue\n$ next step\n", "***\n$ next step\n"},
		{"cat crlf", "crlf-s3cret-v4lue\r\n$ next step\n", "***\r\n$ next step\n"},
		{"command substitution", "v=file-s3cret-v4lue.", "v=***."},
		{"base64 of the file", base64.StdEncoding.EncodeToString([]byte("file-s3cret-v4lue\n")) + "\n", "***\n"},
		{"base64 of $(cat)", base64.StdEncoding.EncodeToString([]byte("file-s3cret-v4lue")) + "\n", "***U=\n"},
		{"json of the file", `{"v":"file-s3cret-v4lue\n"}`, `{"v":"***"}`},
	} {
		if got := ms.String(tc.in); got != tc.want {
			t.Errorf("%s: mask(%q) = %q, want %q", tc.name, tc.in, got, tc.want)
		}
	}
	for _, v := range []string{"file-s3cret-v4lue\n", "x\r\n" + strings.Repeat("long-line\n", MaxEncodedLength)} {
		for _, f := range Forms(v) {
			if strings.HasSuffix(f, "\n") || strings.HasSuffix(f, "\r") {
				t.Errorf("a form of %.12q (%d bytes) ends in a line ending", f, len(f))
			}
		}
	}
}
