package server_test

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lathe-ci/lathe/internal/lathetest"
)

// An idle agent's claim waits parked on a stack the runtime can halve. At
// each garbage collection the runtime halves a parked goroutine's stack
// while what it uses, plus the 800 bytes it keeps for calls that do not
// check the stack, is under a quarter of it. A claim whose request read
// SQLite (a credential not cached, the first look at the queue) grew its
// stack to 16 KB, for modernc's frames are large; parked under 3.2 KB deep
// it shrinks back to the 8 KB a plain net/http handler keeps: at 10,000
// idle agents, 80 MB. Every frame between the connection's goroutine and
// the wait counts, so a new middleware or a local added to the claim path
// can lose it; this reads the depth from a real server's goroutine dump.
func TestIdleClaimWaitsOnAShallowStack(t *testing.T) {
	bin := lathetest.Binary(t)
	t.Setenv("GOTRACEBACK", "system") // the dump gives each frame's stack pointer
	t.Chdir(t.TempDir())
	up := lathetest.StartProcess(t, bin, "up", "--addr", "127.0.0.1:0")
	url := ""
	for i := 0; i < 600 && url == ""; i++ {
		if m := regexp.MustCompile(`LATHE_SERVER=(http://127\.0\.0\.1:\d+)`).FindStringSubmatch(up.Output.String()); m != nil {
			url = m[1]
		}
		time.Sleep(100 * time.Millisecond)
	}
	if url == "" {
		t.Fatalf("lathe up printed no LATHE_SERVER:\n%s", up.Output.String())
	}
	token, err := os.ReadFile(filepath.Join(".lathe", "admin.token"))
	if err != nil {
		t.Fatal(err)
	}
	// The embedded agent claims at once; online, it waits in its claim.
	online := false
	for i := 0; i < 300 && !online; i++ {
		online = agentOnline(t, url, strings.TrimSpace(string(token)))
		time.Sleep(100 * time.Millisecond)
	}
	if !online {
		t.Fatalf("the embedded agent never came online:\n%s", up.Output.String())
	}
	time.Sleep(time.Second) // from its first look to its wait, on a busy machine too
	up.Signal(t, syscall.SIGQUIT)
	up.Wait(t, time.Minute)

	used, frames := parkedClaimDepth(up.Output.String())
	if used == 0 {
		t.Fatalf("no claim parked in the dump:\n%s", up.Output.String())
	}
	// The dump's outermost stack pointer sits under the stack's top by the
	// goroutine's start frame (at most 48 bytes on amd64).
	const nosplit, startFrame, shrinkable = 800, 48, 16 << 10 / 4
	if used+startFrame+nosplit >= shrinkable {
		t.Errorf("an idle claim waits %d bytes deep: with %d for the start frame and %d kept for nosplit calls, at least a quarter of 16 KB, so its stack never shrinks to 8 KB; the frames, in bytes:\n%s",
			used, startFrame, nosplit, frames)
	}
	t.Logf("an idle claim waits %d bytes deep:\n%s", used, frames)
}

func agentOnline(t *testing.T, url, token string) bool {
	req, err := http.NewRequest(http.MethodGet, url+"/api/v1/agents", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	var page struct {
		Items []struct {
			Online bool `json:"online"`
		} `json:"items"`
	}
	if json.NewDecoder(resp.Body).Decode(&page) != nil {
		return false
	}
	return len(page.Items) > 0 && page.Items[0].Online
}

// parkedClaimDepth finds the goroutine of a dump parked in
// dispatch.(*Service).Claim under net/http's connection goroutine, and
// returns how deep it waits (from the outermost frame's stack pointer to
// the innermost's) with each frame's size.
func parkedClaimDepth(dump string) (int, string) {
	spRe := regexp.MustCompile(`\ssp=0x([0-9a-f]+)\s`)
	callRe := regexp.MustCompile(`^(.*?)\((?:0x|\{|\)|\.\.\.)`) // a function, then its arguments
	for _, g := range strings.Split(dump, "\n\n") {
		// Parked: in its select, which Claim called.
		if !strings.Contains(g, "[select") || !strings.Contains(g, "net/http.(*conn).serve(") {
			continue
		}
		var names []string
		var sps []int
		name := ""
		for _, line := range strings.Split(g, "\n") {
			if !strings.HasPrefix(line, "\t") {
				if m := callRe.FindStringSubmatch(line); m != nil {
					name = m[1]
				}
				continue
			}
			if m := spRe.FindStringSubmatch(line + " "); m != nil {
				sp, _ := strconv.ParseInt(m[1], 16, 64)
				names, sps = append(names, name), append(sps, int(sp))
			}
		}
		if len(sps) < 4 || names[1] != "runtime.selectgo" || names[2] != "github.com/lathe-ci/lathe/dispatch.(*Service).Claim" {
			continue
		}
		var b strings.Builder
		for i := 0; i+1 < len(sps); i++ {
			b.WriteString(strconv.Itoa(sps[i+1]-sps[i]) + "\t" + names[i] + "\n")
		}
		return sps[len(sps)-1] - sps[0], b.String()
	}
	return 0, ""
}
