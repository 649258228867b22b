package executor_test

import (
	"context"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lathe-ci/lathe/executor"
	"github.com/lathe-ci/lathe/internal/enginetest"
)

// benchSteps is the number of steps of the benchmarked job.
const benchSteps = 10

// What a 10-step image job costs through the container executor beside its
// floor, measured alternately in the same run: the same 10 steps by
// `docker exec` in a container started by hand with the docker CLI.
// "steps" times the steps alone (both containers already running); "job"
// the whole job: network and container made, the steps, all removed.
// Each reports lathe-ms and docker-ms per job and their ratio.
func BenchmarkContainerJob(b *testing.B) {
	docker, err := exec.LookPath("docker")
	if err != nil {
		b.Skip("the floor needs the docker CLI")
	}
	for _, whole := range []bool{false, true} {
		name := "steps"
		if whole {
			name = "job"
		}
		b.Run(name, func(b *testing.B) {
			ce := newContainerEnv(b)
			spec := ce.spec(never())
			h := handMade{b: b, docker: docker, ws: ce.ws, user: ce.c.User}
			var job executor.Job
			var hand, handNet string
			if !whole {
				var err error
				if job, err = ce.c.Start(context.Background(), spec); err != nil {
					b.Fatal(err)
				}
				defer job.Close()
				hand, handNet = h.start(0)
				defer h.remove(hand, handNet)
			}
			var lathe, floor time.Duration
			for i := 0; b.Loop(); i++ {
				t0 := time.Now()
				j := job
				if whole {
					var err error
					if j, err = ce.c.Start(context.Background(), spec); err != nil {
						b.Fatal(err)
					}
				}
				for range benchSteps {
					if code, err := j.Run(context.Background(), executor.Step{Script: "true", Output: ce.log}); err != nil || code != 0 {
						b.Fatalf("step: %d %v", code, err)
					}
				}
				if whole {
					j.Close()
				}
				t1 := time.Now()
				id, net := hand, handNet
				if whole {
					id, net = h.start(i + 1)
				}
				for range benchSteps {
					h.cli("exec", id, "/bin/sh", "-c", "true")
				}
				if whole {
					h.remove(id, net)
				}
				lathe += t1.Sub(t0)
				floor += time.Since(t1)
			}
			n := float64(b.N)
			b.ReportMetric(float64(lathe.Microseconds())/1000/n, "lathe-ms/job")
			b.ReportMetric(float64(floor.Microseconds())/1000/n, "docker-ms/job")
			b.ReportMetric(float64(lathe)/float64(floor), "ratio")
		})
	}
}

// handMade is the floor: a container made and used with the docker CLI.
type handMade struct {
	b      *testing.B
	docker string
	ws     string
	user   *executor.User
}

func (h handMade) cli(args ...string) string {
	out, err := exec.Command(h.docker, args...).CombinedOutput()
	if err != nil {
		h.b.Fatalf("docker %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// start makes a network and a container on it like the executor's.
func (h handMade) start(n int) (id, net string) {
	net = "lathe-bench-" + strconv.Itoa(n) + "-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	h.cli("network", "create", net)
	args := []string{"run", "-d", "--network", net, "-v", h.ws + ":" + h.ws, "-w", h.ws}
	if h.user != nil {
		args = append(args, "--user", strconv.Itoa(h.user.Uid)+":"+strconv.Itoa(h.user.Gid))
	}
	args = append(args, enginetest.Image, "/bin/sh", "-c", "trap 'exit 0' TERM; while :; do sleep 3600 & wait $!; done")
	return h.cli(args...), net
}

func (h handMade) remove(id, net string) {
	h.cli("rm", "-f", id)
	h.cli("network", "rm", net)
}
