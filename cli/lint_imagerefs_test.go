package cli_test

import (
	"path/filepath"
	"strings"
	"testing"
)

// `lathe lint` reports an image's unknown {{ matrix.… }} with file, line
// and field, and passes the same file once the axis exists.
func TestLintImageMatrixRefs(t *testing.T) {
	const job = "jobs:\n  test:\n    matrix: {go: [\"1.22\", \"1.23\"]}\n    image: golang:{{ matrix.%s }}\n" +
		"    services:\n      - {name: db, image: \"postgres:{{ matrix.pg }}\"}\n    steps: [go test ./...]\n"
	dir := writeFiles(t, map[string]string{"ci.yml": strings.ReplaceAll(job, "%s", "golang")})
	code, out, errOut := lintIn(t, "--dir", dir, filepath.Join(dir, "ci.yml"))
	out = strings.ReplaceAll(out, dir+string(filepath.Separator), "")
	want := `ci.yml:4:12: error: "golang:{{ matrix.golang }}" names matrix.golang, which this job's matrix does not have (jobs.test.image)` + "\n" +
		`ci.yml:6:27: error: "postgres:{{ matrix.pg }}" names matrix.pg, which this job's matrix does not have (jobs.test.services[0].image)` + "\n"
	if code != 1 || out != want {
		t.Errorf("exit code %d, stdout:\n%s\nwant:\n%s\nstderr:\n%s", code, out, want, errOut)
	}

	fixed := strings.ReplaceAll(job, "%s", "go")
	fixed = strings.Replace(fixed, `matrix: {go: ["1.22", "1.23"]}`, `matrix: {go: ["1.22", "1.23"], pg: ["16"]}`, 1)
	dir = writeFiles(t, map[string]string{"ci.yml": fixed})
	if code, out, errOut := lintIn(t, "--dir", dir, filepath.Join(dir, "ci.yml")); code != 0 || out != "" {
		t.Errorf("fixed file: exit code %d, stdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
}
