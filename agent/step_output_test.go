package agent

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// A step writes into the attempt's pipe; reopening it by name (O_TRUNC
// included) truncates nothing, a killed step's last bytes still arrive,
// and once DrainOutput has returned the step's output is in the spool,
// before the agent's next line.
func TestStepOutputReachesTheSpoolInOrder(t *testing.T) {
	t.Parallel()
	s := testShipper(t, t.TempDir(), 1)
	defer s.Close()
	line := func(l string) { s.Write([]byte(l + "\n")) }
	w, err := s.StartOutput()
	if err != nil {
		t.Fatal(err)
	}
	for _, step := range []string{
		"echo line-one; echo via-dev-stdout > /dev/stdout; echo line-three",
		"echo tee-test | tee /dev/stderr",
		"echo killed-step; kill -9 $$",
		"head -c 3000000 /dev/zero | tr '\\0' x; echo",
	} {
		line("$ " + step)
		cmd := exec.Command("/bin/sh", "-c", step)
		cmd.Stdout, cmd.Stderr = w, w
		cmd.Run()
		s.DrainOutput()
	}
	line("end")
	if err := s.EndOutput(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(s.spool.Name())
	if err != nil {
		t.Fatal(err)
	}
	want := "$ echo line-one; echo via-dev-stdout > /dev/stdout; echo line-three\nline-one\nvia-dev-stdout\nline-three\n" +
		"$ echo tee-test | tee /dev/stderr\ntee-test\ntee-test\n" +
		"$ echo killed-step; kill -9 $$\nkilled-step\n" +
		"$ head -c 3000000 /dev/zero | tr '\\0' x; echo\n" + strings.Repeat("x", 3000000) + "\nend\n"
	if string(b) != want {
		t.Fatalf("spool (%d bytes) differs from what was written (%d bytes); its start: %.300q", len(b), len(want), b)
	}
}
