package results

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// The statuses of a test case result.
const (
	Passed  = "passed"
	Failed  = "failed"
	Error   = "error"
	Skipped = "skipped"
)

// Limits of what one report yields.
const (
	// MaxCases is how many test cases one JUnit file may hold.
	MaxCases = 200_000
	// MaxMessage is how many bytes of a failure's message are kept.
	MaxMessage = 4096
	// MaxName is how many bytes of a suite or test name are kept.
	MaxName = 1024
)

// Case is one test case's result in a JUnit report.
type Case struct {
	// Suite is the test's class name (classname), else its suite's name.
	Suite string
	Name  string
	// Status is Passed, Failed, Error or Skipped.
	Status     string
	DurationMS int64
	// Message is the failure's, error's or skip's message (or, without
	// one, the start of its text), at most MaxMessage bytes. A flaky
	// test's is that of the failure it passed after.
	Message string
	// Flaky: the test failed, then passed when the runner tried it again
	// within the job (surefire's <flakyFailure>, or the same test reported
	// failed and then passed in one file, as Gradle's test-retry and
	// `go test -count` write it). Its status is passed.
	Flaky bool
}

// severity orders statuses: a test reported twice keeps its worst.
func severity(status string) int {
	switch status {
	case Error:
		return 3
	case Failed:
		return 2
	case Passed:
		return 1
	}
	return 0
}

// Worse reports whether status a is worse than b (error, failed, passed,
// skipped, from worst).
func Worse(a, b string) bool { return severity(a) > severity(b) }

// ParseJUnit reads a JUnit XML report: a <testsuites> or <testsuite> root
// (suites may nest), as written by go-junit-report, pytest, Maven surefire
// and most other runners. A testcase holding <failure> failed, <error>
// (or <rerunFailure>'s error) errored, <skipped> was skipped; surefire's
// <flakyFailure> and <flakyError> leave a passing test passed, and flaky.
// A test the file reports more than once is one case (see mergeRepeats).
// Malformed XML is an error naming its line.
func ParseJUnit(data []byte) ([]Case, error) {
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = true
	var (
		out    []Case
		suites []string
		cur    *Case
		inside string // the failure/error/skipped element being read
		text   strings.Builder
		root   bool
	)
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var se *xml.SyntaxError
			if errors.As(err, &se) {
				return nil, fmt.Errorf("line %d: malformed XML: %s", se.Line, se.Msg)
			}
			line, _ := d.InputPos()
			return nil, fmt.Errorf("line %d: malformed XML: %v", line, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			name := t.Name.Local
			if !root {
				root = true
				if name != "testsuites" && name != "testsuite" {
					line, _ := d.InputPos()
					return nil, fmt.Errorf("line %d: the root element is <%s>; a JUnit report starts with <testsuites> or <testsuite>", line, name)
				}
			}
			switch {
			case name == "testsuite":
				suites = append(suites, attr(t, "name"))
			case name == "testcase":
				if len(out) >= MaxCases {
					return nil, fmt.Errorf("more than %d test cases in one file", MaxCases)
				}
				suite := attr(t, "classname")
				if suite == "" && len(suites) > 0 {
					suite = suites[len(suites)-1]
				}
				cur = &Case{Suite: clip(suite, MaxName), Name: clip(attr(t, "name"), MaxName), Status: Passed,
					DurationMS: seconds(attr(t, "time"))}
			case cur != nil && inside == "" && (name == "flakyFailure" || name == "flakyError"):
				if cur.Status == Passed && !cur.Flaky {
					cur.Flaky, cur.Message = true, clip(attr(t, "message"), MaxMessage)
					inside = name
					text.Reset()
				}
			case cur != nil && inside == "":
				status := map[string]string{"failure": Failed, "error": Error, "skipped": Skipped,
					"rerunFailure": Failed, "rerunError": Error}[name]
				if status != "" && Worse(status, cur.Status) || status == Skipped && cur.Status == Passed {
					cur.Status, cur.Message, cur.Flaky = status, clip(attr(t, "message"), MaxMessage), false
					inside = name
					text.Reset()
				}
			}
		case xml.CharData:
			if inside != "" && text.Len() < MaxMessage {
				text.Write(t)
			}
		case xml.EndElement:
			switch name := t.Name.Local; {
			case name == inside:
				if cur.Message == "" {
					cur.Message = clip(strings.TrimSpace(text.String()), MaxMessage)
				}
				inside = ""
			case name == "testcase" && cur != nil:
				out = append(out, *cur)
				cur = nil
			case name == "testsuite" && len(suites) > 0:
				suites = suites[:len(suites)-1]
			}
		}
	}
	if !root {
		return nil, errors.New("line 1: no XML element; a JUnit report starts with <testsuites> or <testsuite>")
	}
	return mergeRepeats(out), nil
}

// mergeRepeats makes one case of each test a file reports more than once,
// in the place of its first report. A runner that tries a failed test
// again writes each try: a test that failed and also passed is flaky, and
// passed, with the failure's message; one that never passed keeps its
// worst result. The durations add up: the job spent them all.
func mergeRepeats(cases []Case) []Case {
	type key struct{ suite, name string }
	at := make(map[key]int, len(cases))
	out := cases[:0]
	for _, c := range cases {
		k := key{c.Suite, c.Name}
		i, seen := at[k]
		if !seen {
			at[k] = len(out)
			out = append(out, c)
			continue
		}
		m := &out[i]
		failed := func(c Case) bool { return c.Status == Failed || c.Status == Error || c.Flaky }
		passed := func(c Case) bool { return c.Status == Passed }
		switch {
		case passed(*m) && failed(c) || failed(*m) && passed(c):
			msg := m.Message
			if !failed(*m) || m.Message == "" {
				msg = c.Message
			}
			m.Status, m.Flaky, m.Message = Passed, true, msg
		case Worse(c.Status, m.Status):
			m.Status, m.Message, m.Flaky = c.Status, c.Message, false
		}
		m.DurationMS += c.DurationMS
	}
	return out
}

func attr(t xml.StartElement, name string) string {
	for _, a := range t.Attr {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// seconds reads a duration in seconds ("0.013", surefire's "1,234.5") as
// milliseconds; anything else is 0.
func seconds(s string) int64 {
	f, err := strconv.ParseFloat(strings.ReplaceAll(strings.TrimSpace(s), ",", ""), 64)
	if err != nil || f < 0 || f > 1e9 {
		return 0
	}
	return int64(f*1000 + 0.5)
}

// clip cuts s to at most n bytes, on a rune boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8Start(s[cut]) {
		cut--
	}
	return s[:cut]
}

func utf8Start(b byte) bool { return b&0xC0 != 0x80 }
