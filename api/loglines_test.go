package api

import (
	"fmt"
	"strings"
	"testing"

	lathe "github.com/lathe-ci/lathe"
)

// scanLines finds every line whatever the reads cut: a read may end inside
// a line, and the last line may lack its newline.
func TestScanLinesAcrossShortReads(t *testing.T) {
	log := "one\n\ntwo three\n" + strings.Repeat("x", 50) + "\nlast"
	for _, n := range []int{1, 2, 3, 7, 64, 1 << 20} {
		read := func(off, want int64) ([]byte, error) {
			end := min(off+min(want, int64(n)), int64(len(log)))
			return []byte(log[off:end]), nil
		}
		var got []string
		lines, selected, err := scanLines(read, int64(len(log)), lineFilter{}, func(l lathe.LogLine) {
			got = append(got, fmt.Sprintf("%d@%d:%s", l.Number, l.Offset, l.Text))
		})
		want := []string{"1@0:one", "2@4:", "3@5:two three", "4@15:" + strings.Repeat("x", 50), "5@66:last"}
		if err != nil || lines != 5 || selected != 5 || strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("reads of %d bytes: %d lines, %d selected, %q (%v), want %q", n, lines, selected, got, err, want)
		}
		var kept []string
		_, selected, _ = scanLines(read, int64(len(log)), lineFilter{text: "t"}, func(l lathe.LogLine) { kept = append(kept, l.Text) })
		if selected != 2 || strings.Join(kept, "|") != "two three|last" {
			t.Errorf("reads of %d bytes, filter t: %d %q", n, selected, kept)
		}
	}
}

// A line longer than maxLineText keeps its first maxLineText bytes and
// still counts once.
func TestScanLinesCutsALongLine(t *testing.T) {
	log := strings.Repeat("y", maxLineText+100) + "\nshort\n"
	read := func(off, want int64) ([]byte, error) {
		return []byte(log[off:min(off+min(want, 1000), int64(len(log)))]), nil
	}
	var got []lathe.LogLine
	lines, _, err := scanLines(read, int64(len(log)), lineFilter{}, func(l lathe.LogLine) { got = append(got, l) })
	if err != nil || lines != 2 || len(got) != 2 || len(got[0].Text) != maxLineText || got[1].Text != "short" || got[1].Offset != maxLineText+101 {
		t.Fatalf("%d lines, %d kept (%v)", lines, len(got), err)
	}
}
