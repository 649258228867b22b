package results

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
)

// MaxIssues is how many findings one file may hold.
const MaxIssues = 100_000

// The severities of an issue.
const (
	SeverityError   = "error"
	SeverityWarning = "warning"
	SeverityNote    = "note"
)

// Issue is one finding of a linter or compiler.
type Issue struct {
	File     string
	Line     int
	Column   int
	Severity string
	Message  string
	// Symbol names the rule or check (SARIF's ruleId, a linter's name).
	Symbol string
}

// Fingerprint identifies an issue across runs: its file, symbol and
// message, not its line (which moves when code above it changes).
func (i Issue) Fingerprint() string {
	h := sha256.Sum256([]byte(i.File + "\x00" + i.Symbol + "\x00" + i.Message))
	return hex.EncodeToString(h[:16])
}

// ParseIssues reads a findings file: SARIF 2.1 when it is a JSON object,
// otherwise lines in the compiler format (see ParseCompiler).
func ParseIssues(data []byte) ([]Issue, error) {
	if t := bytes.TrimSpace(data); len(t) > 0 && t[0] == '{' {
		return ParseSARIF(data)
	}
	return ParseCompiler(data)
}

// sarifLog is the part of a SARIF 2.1 log that findings need.
type sarifLog struct {
	Runs []struct {
		Results []struct {
			RuleID  string `json:"ruleId"`
			Level   string `json:"level"`
			Message struct {
				Text string `json:"text"`
			} `json:"message"`
			Locations []struct {
				PhysicalLocation struct {
					ArtifactLocation struct {
						URI string `json:"uri"`
					} `json:"artifactLocation"`
					Region struct {
						StartLine   int `json:"startLine"`
						StartColumn int `json:"startColumn"`
					} `json:"region"`
				} `json:"physicalLocation"`
			} `json:"locations"`
		} `json:"results"`
	} `json:"runs"`
}

// ParseSARIF reads the results of every run of a SARIF 2.1 log. A result's
// level error, warning or note is its severity (none, or no level, is a
// warning, SARIF's default); its first location gives file, line and column.
func ParseSARIF(data []byte) ([]Issue, error) {
	var log sarifLog
	if err := json.Unmarshal(data, &log); err != nil {
		return nil, fmt.Errorf("SARIF: %s", jsonProblem(data, err))
	}
	var out []Issue
	for _, run := range log.Runs {
		for _, r := range run.Results {
			if len(out) >= MaxIssues {
				return nil, fmt.Errorf("more than %d findings in one file", MaxIssues)
			}
			is := Issue{Symbol: clip(r.RuleID, MaxName), Message: clip(r.Message.Text, MaxMessage), Severity: SeverityWarning}
			switch r.Level {
			case SeverityError, SeverityNote:
				is.Severity = r.Level
			}
			if len(r.Locations) > 0 {
				pl := r.Locations[0].PhysicalLocation
				is.File = clip(strings.TrimPrefix(pl.ArtifactLocation.URI, "file://"), MaxName)
				is.Line, is.Column = pl.Region.StartLine, pl.Region.StartColumn
			}
			out = append(out, is)
		}
	}
	return out, nil
}

// jsonProblem says where JSON broke, by line.
func jsonProblem(data []byte, err error) string {
	if se, ok := err.(*json.SyntaxError); ok {
		return fmt.Sprintf("line %d: %v", bytes.Count(data[:min(int(se.Offset), len(data))], []byte("\n"))+1, err)
	}
	return err.Error()
}

// compilerLine is `file:line[:col]: [severity:] message`.
var compilerLine = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^([^:\s][^:]*):(\d+)(?::(\d+))?:\s*(?:(error|warning|note|info):\s*)?(.+)$`)
})

// trailingSymbol is a check's name at the end of a message: gcc's
// [-Wunused-variable], golangci-lint's (errcheck).
var trailingSymbol = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`\s*(?:\[([^\]\s]+)\]|\(([A-Za-z0-9_./-]+)\))$`) })

// ParseCompiler reads lines in the compiler format: `file:line:col:
// message` or `file:line: message`, with an optional severity (error:,
// warning:, note:) before the message and a check's name in brackets or
// parentheses after it. A line without a severity is an error, as the
// Go tools mean it. Lines that are not findings (headers, context) are
// skipped.
func ParseCompiler(data []byte) ([]Issue, error) {
	var out []Issue
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for sc.Scan() {
		m := compilerLine().FindStringSubmatch(strings.TrimRight(sc.Text(), "\r"))
		if m == nil {
			continue
		}
		if len(out) >= MaxIssues {
			return nil, fmt.Errorf("more than %d findings in one file", MaxIssues)
		}
		line, _ := strconv.Atoi(m[2])
		col, _ := strconv.Atoi(m[3])
		is := Issue{File: clip(strings.TrimPrefix(m[1], "./"), MaxName), Line: line, Column: col, Severity: SeverityError, Message: m[5]}
		switch m[4] {
		case "warning":
			is.Severity = SeverityWarning
		case "note", "info":
			is.Severity = SeverityNote
		}
		if s := trailingSymbol().FindStringSubmatch(is.Message); s != nil {
			is.Symbol = s[1] + s[2]
			is.Message = strings.TrimSuffix(is.Message, s[0])
		}
		is.Message = clip(is.Message, MaxMessage)
		out = append(out, is)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("line %d: %v", len(out)+1, err)
	}
	return out, nil
}
