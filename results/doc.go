// Package results reads the result files jobs report (issue 17): JUnit XML
// test reports into test case results, and findings files (SARIF, or the
// compiler format `file:line:col: message`) into issues. It is pure: bytes
// in, values out, no I/O; the server stores what it returns. A file it
// cannot read gives an error naming the problem and its line, never a
// panic, so one broken report costs its job a warning and nothing more.
package results
