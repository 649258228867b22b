package tool

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const manifest = `name: greet
version: "1.0"
description: says hello
entrypoint: run.sh
params:
  who: {type: string}
  times: {type: number, default: "1"}
  loud: {type: boolean, default: "false"}
`

// archive makes a gzipped tar of the entries (name → content; a name
// ending in "/" is a directory), each file executable.
func archive(t *testing.T, entries [][2]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, e := range entries {
		h := &tar.Header{Name: e[0], Mode: 0o755, Typeflag: tar.TypeReg, Size: int64(len(e[1]))}
		if strings.HasSuffix(e[0], "/") {
			h.Typeflag, h.Size = tar.TypeDir, 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(e[1]))
	}
	tw.Close()
	gz.Close()
	return buf.Bytes()
}

func TestPackThenInspect(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, ManifestFile), []byte(manifest), 0o644)
	os.WriteFile(filepath.Join(dir, "run.sh"), []byte("#!/bin/sh\necho hi\n"), 0o755)
	os.Mkdir(filepath.Join(dir, "lib"), 0o755)
	os.WriteFile(filepath.Join(dir, "lib", "x"), []byte("x"), 0o644)
	var buf bytes.Buffer
	m, err := Pack(&buf, dir)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Inspect(bytes.NewReader(buf.Bytes()), DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	if got.Ref() != "greet@1.0" || m.Ref() != "greet@1.0" || got.Params["who"].Type != TypeString {
		t.Fatalf("manifest %+v", got)
	}
	if err := os.Symlink("/etc/passwd", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	if _, err := Pack(&bytes.Buffer{}, dir); err == nil || !strings.Contains(err.Error(), "link: only regular files and directories") {
		t.Errorf("packing a link: %v", err)
	}
}

func TestInspectRefuses(t *testing.T) {
	run := [2]string{"run.sh", "#!/bin/sh\n"}
	mf := [2]string{ManifestFile, manifest}
	for _, tt := range []struct {
		name    string
		entries [][2]string
		want    string
	}{
		{"dot-dot", [][2]string{mf, run, {"../evil", "x"}}, `tool archive: entry "../evil": '..' would leave the tool's directory`},
		{"dot-dot inside", [][2]string{mf, run, {"a/../../evil", "x"}}, `'..' would leave`},
		{"absolute", [][2]string{mf, run, {"/etc/evil", "x"}}, `"/etc/evil": absolute paths are refused`},
		{"no manifest", [][2]string{run}, "no lathe-tool.yml at its root"},
		{"no entry point", [][2]string{mf}, `entrypoint "run.sh": no such file in the archive`},
		{"bad manifest", [][2]string{{ManifestFile, "name: Greet\nversion: 1\nentrypoint: run.sh\n"}, run}, `name "Greet": must be`},
		{"bad default", [][2]string{{ManifestFile, "name: g\nversion: 1\nentrypoint: run.sh\nparams: {n: {type: number, default: x}}\n"}, run}, `params.n.default: "x" is not a number`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Inspect(bytes.NewReader(archive(t, tt.entries)), DefaultLimits)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want %q", err, tt.want)
			}
		})
	}
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	tw.WriteHeader(&tar.Header{Name: "link", Typeflag: tar.TypeSymlink, Linkname: "/etc"})
	tw.Close()
	gz.Close()
	if _, err := Inspect(&buf, DefaultLimits); err == nil || !strings.Contains(err.Error(), "links and special files are refused") {
		t.Errorf("link: %v", err)
	}
	if _, err := Inspect(strings.NewReader("not gzip"), DefaultLimits); err == nil || !strings.Contains(err.Error(), "not a gzipped tar") {
		t.Errorf("not gzip: %v", err)
	}
}

func TestInputs(t *testing.T) {
	m, err := ParseManifest([]byte(manifest))
	if err != nil {
		t.Fatal(err)
	}
	in, err := m.Inputs(map[string]string{"who": "world", "loud": "true"})
	if err != nil || in["who"] != "world" || in["times"] != "1" || in["loud"] != "true" {
		t.Fatalf("inputs %v, %v", in, err)
	}
	_, err = m.Inputs(map[string]string{"times": "many", "colour": "red"})
	for _, want := range []string{
		`with.colour: greet@1.0 has no parameter "colour" (it has: loud, times, who)`,
		`with.times: must be a number: "many" is not a number`,
		`with.who: missing; greet@1.0 requires it`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v lacks %q", err, want)
		}
	}
	if EnvName("dry-run") != "INPUT_DRY_RUN" {
		t.Error(EnvName("dry-run"))
	}
}
