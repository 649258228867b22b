package cli_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/lathe-ci/lathe/internal/lathetest"
)

// terminal runs a command on a real pseudo-terminal, as a user at a shell
// would, and answers its prompts.
type terminal struct {
	t    *testing.T
	tty  *os.File
	cmd  *exec.Cmd
	mu   sync.Mutex
	out  bytes.Buffer
	done chan struct{}
}

func startTerminal(t *testing.T, env []string, name string, args ...string) *terminal {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), env...)
	tty, err := pty.Start(cmd)
	if err != nil {
		t.Fatalf("start %s on a pty: %v", name, err)
	}
	term := &terminal{t: t, tty: tty, cmd: cmd, done: make(chan struct{})}
	go func() {
		defer close(term.done)
		buf := make([]byte, 4096)
		for {
			n, err := tty.Read(buf)
			term.mu.Lock()
			term.out.Write(buf[:n])
			term.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		tty.Close()
	})
	return term
}

func (term *terminal) output() string {
	term.mu.Lock()
	defer term.mu.Unlock()
	return term.out.String()
}

// answer waits for prompt on the screen, then types line and Enter.
func (term *terminal) answer(prompt, line string) {
	term.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(term.output(), prompt) {
		if time.Now().After(deadline) {
			term.t.Fatalf("no prompt %q; the screen shows:\n%s", prompt, term.output())
		}
		time.Sleep(10 * time.Millisecond)
	}
	// The prompt is printed just before echo goes off: give the program a
	// moment to turn it off, as a person typing would.
	time.Sleep(100 * time.Millisecond)
	if _, err := io.WriteString(term.tty, line+"\r"); err != nil {
		term.t.Fatal(err)
	}
}

// wait waits for the command to end and returns what the screen showed.
func (term *terminal) wait() string {
	term.t.Helper()
	if err := term.cmd.Wait(); err != nil {
		term.t.Errorf("%s: %v\n%s", term.cmd.Args, err, term.output())
	}
	select {
	case <-term.done:
	case <-time.After(10 * time.Second):
	}
	return term.output()
}

// Passwords typed at a terminal never show on it: user create, login and
// passwd read them with echo off, and what was typed is what the server got.
func TestPasswordsAreNotEchoedOnATerminal(t *testing.T) {
	// The harness sees echo when a program leaves it on.
	sh := startTerminal(t, nil, "sh", "-c", `printf 'say: '; read x; echo "read $x"`)
	sh.answer("say: ", "visible-words")
	if out := sh.wait(); strings.Count(out, "visible-words") != 2 {
		t.Fatalf("a shell's read should echo the typed words once and print them once:\n%q", out)
	}

	l := lathetest.Start(t, lathetest.Options{Agents: -1})
	bin := lathetest.Binary(t)
	home := t.TempDir()
	env := []string{"HOME=" + home, "XDG_CONFIG_HOME=" + home, "LATHE_SERVER=" + l.URL, "NO_COLOR=1"}

	create := startTerminal(t, append(env, "LATHE_TOKEN="+l.AdminToken), bin, "user", "create", "dee")
	create.answer("Password for dee: ", "typed-first-secret")
	if out := create.wait(); strings.Contains(out, "typed-first-secret") {
		t.Errorf("user create echoed the password:\n%s", out)
	}

	login := startTerminal(t, env, bin, "login", "dee")
	login.answer("Password: ", "typed-first-secret")
	if out := login.wait(); strings.Contains(out, "typed-first-secret") || !strings.Contains(strings.ToLower(out), "logged in") {
		t.Errorf("login echoed the password or did not log in:\n%s", out)
	}

	passwd := startTerminal(t, env, bin, "user", "passwd")
	passwd.answer("Current password: ", "typed-first-secret")
	passwd.answer("New password: ", "typed-second-secret")
	if out := passwd.wait(); strings.Contains(out, "typed-first-secret") || strings.Contains(out, "typed-second-secret") {
		t.Errorf("passwd echoed a password:\n%s", out)
	}
	in := map[string]string{"username": "dee", "password": "typed-second-secret"}
	if err := l.ClientAs(t, "").Do(context.Background(), http.MethodPost, "/api/v1/sessions", in, nil); err != nil {
		t.Errorf("the new password typed at the terminal does not log in: %v", err)
	}
}
