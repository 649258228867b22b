package results

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseJUnitShapes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		file string
		want []string // suite|name|status|ms|message prefix
	}{
		{"go-junit-report.xml", []string{
			"example.com/calc|TestAdd|passed|1|",
			"example.com/calc|TestSub|failed|2|Failed",
			"example.com/calc|TestMul/large|passed|0|",
			"example.com/calc|TestDiv|skipped|0|calc_test.go:30: needs a float mode",
		}},
		{"gradle-retry.xml", []string{
			"com.example.PayTest|chargesCard|passed|150|java.net.SocketTimeoutException: Read timed out|flaky",
			"com.example.PayTest|refunds|passed|20|",
			"com.example.PayTest|voids|failed|30|expected 2 but was 3",
			"com.example.PayTest|skipsLater|skipped|0|",
		}},
		{"go-count.xml", []string{
			"example.com/clock|TestTick|passed|3|Failed|flaky",
			"example.com/clock|TestTock|passed|2|",
		}},
		{"pytest.xml", []string{
			"tests.test_shop.TestCart|test_total|passed|1|",
			"tests.test_shop.TestCart|test_discount|failed|2|assert 90 == 80",
			`tests.test_shop|test_db|error|0|failed on setup with "ConnectionRefusedError"`,
			"tests.test_shop|test_later|skipped|0|not yet",
		}},
		{"surefire.xml", []string{
			"com.example.OrderTest|createsOrder|passed|12|",
			"com.example.OrderTest|rejectsEmptyOrder|failed|4|expected: <400> but was: <200>",
			"com.example.OrderTest|retriesPayment|passed|300|timeout|flaky",
			"com.example.OrderTest|cancelsOrder|failed|2|boom",
		}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			cases, err := ParseJUnit(fixture(t, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, c := range cases {
				line := fmt.Sprintf("%s|%s|%s|%d|%s", c.Suite, c.Name, c.Status, c.DurationMS, c.Message)
				if c.Flaky {
					line += "|flaky"
				}
				got = append(got, line)
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

func TestParseJUnitRefusesBrokenFiles(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct{ data, want string }{
		"malformed":  {string(fixture(t, "malformed.xml")), "line 4: malformed XML"},
		"empty":      {"", "line 1: no XML element"},
		"not junit":  {"<html><body/></html>", "line 1: the root element is <html>"},
		"not xml":    {"PASS\nok example.com/calc 0.01s\n", "no XML element"},
		"bad entity": {"<testsuite><testcase name=\"&boom;\"/></testsuite>", "malformed XML"},
	} {
		_, err := ParseJUnit([]byte(tc.data))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", name, err, tc.want)
		}
	}
}

func TestParseJUnitClipsMessages(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("é", MaxMessage)
	cases, err := ParseJUnit([]byte(`<testsuite name="s"><testcase name="t"><failure message="` + long + `"/></testcase></testsuite>`))
	if err != nil || len(cases) != 1 {
		t.Fatal(cases, err)
	}
	if m := cases[0].Message; len(m) > MaxMessage || !strings.HasPrefix(long, m) {
		t.Errorf("message of %d bytes, not a prefix of the original", len(m))
	}
}

func TestParseIssues(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		file string
		want []string
	}{
		{"vet.txt", []string{
			"calc.go:12:2 error  unreachable code",
			"calc.go:20:5 warning -Wunused-variable unused variable 'x'",
			"internal/db.go:7:1 error errcheck Error return value of `rows.Close` is not checked",
		}},
		{"lint.sarif", []string{
			"calc.go:33:2 error SA4006 this value of err is never used",
			"util/strings.go:4:0 warning ST1003 should not use underscores in Go names",
		}},
	} {
		issues, err := ParseIssues(fixture(t, tc.file))
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, is := range issues {
			got = append(got, fmt.Sprintf("%s:%d:%d %s %s %s", is.File, is.Line, is.Column, is.Severity, is.Symbol, is.Message))
		}
		if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
			t.Errorf("%s: got\n%s\nwant\n%s", tc.file, strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
		}
	}
	if _, err := ParseIssues([]byte("{\"runs\": [\n}")); err == nil || !strings.Contains(err.Error(), "SARIF: line 2") {
		t.Errorf("broken SARIF: %v", err)
	}
}

func FuzzParseJUnit(f *testing.F) {
	f.Add([]byte(`<testsuites><testsuite name="a"><testcase name="b"><failure/></testcase></testsuite></testsuites>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		cases, err := ParseJUnit(data)
		if err == nil && len(cases) > MaxCases {
			t.Fatal("too many cases")
		}
	})
}
