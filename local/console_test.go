package local

import (
	"bytes"
	"strings"
	"testing"
	"testing/iotest"
)

// Every line gets the prefix; a header mark starts a new line only when the
// output before it stopped mid-line; a last line without a newline is
// ended; an endless line is cut into lines of maxLine bytes.
func TestCopyLines(t *testing.T) {
	long := strings.Repeat("x", maxLine+10)
	tests := []struct{ name, in, want string }{
		{"lines", "a\nb\n", "> a\n> b\n"},
		{"partial last line", "a\nb", "> a\n> b\n"},
		{"header after a full line", "a\n\x1e$ next\n", "> a\n> $ next\n"},
		{"header after a partial line", "prompt: \x1e$ next\n", "> prompt: \n> $ next\n"},
		{"header first", "\x1e$ first\nout\n", "> $ first\n> out\n"},
		{"endless line", long + "\n", "> " + long[:maxLine] + "\n> " + long[maxLine:] + "\n"},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			c := &console{w: &out}
			// One byte per read: lines must not depend on how reads split.
			c.copyLines(iotest.OneByteReader(strings.NewReader(tt.in)), "> ", nil)
			if out.String() != tt.want {
				t.Errorf("got %q, want %q", out.String(), tt.want)
			}
		})
	}
}
