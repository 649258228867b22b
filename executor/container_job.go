package executor

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/lathe-ci/lathe/internal/dockerapi"
)

// keepAlive is the job container's main process: it only waits, so steps
// can be exec'd beside it, and ends on SIGTERM. It runs as a user other
// than the steps' (initUser), so the steps' user signals every process of
// the steps with kill -1 and none of it, and finds none of it among its
// own (see stop). It reaps the steps' orphans (the shell's wait reaps
// every child).
const keepAlive = `trap 'exit 0' TERM; while :; do sleep 3600 & wait $!; done`

// stepWrapper runs one step: $1 is the script, run with /bin/sh -e like
// every step; $2 the FIFO its output goes to. The wrapper alone holds the
// exec's own output stream, so that stream ends when the step's shell does,
// even while processes the step left in the background still run (they
// write into the FIFO). Its exit status is the step's.
const stepWrapper = `/bin/sh -e -c "$1" </dev/null >"$2" 2>&1`

// containerJob is one job's container, services and network.
type containerJob struct {
	c        *Containers
	spec     Spec
	network  string // the job's network, named like its containers
	id       string // the job container
	labels   map[string]string
	steps    int
	fifos    []string
	copiers  sync.WaitGroup
	closeOne sync.Once
}

func startContainerJob(ctx context.Context, c *Containers, spec Spec) (_ *containerJob, err error) {
	b := make([]byte, 4)
	rand.Read(b)
	j := &containerJob{c: c, spec: spec,
		network: "lathe-" + strconv.FormatInt(spec.Attempt, 10) + "-" + hex.EncodeToString(b),
		labels: map[string]string{LabelAgent: c.Agent, LabelAgentDir: c.Dir,
			LabelAttempt: strconv.FormatInt(spec.Attempt, 10)}}
	defer func() {
		if err != nil {
			j.remove()
		}
	}()
	for _, dir := range []string{spec.Workspace, spec.Home} {
		if err := c.own(dir); err != nil {
			return nil, fmt.Errorf("container: give the job user %s: %w", dir, err)
		}
	}
	jc := spec.Container
	log := io.Writer(io.Discard)
	if spec.Log != nil {
		log = spec.Log
	}
	if err := c.Engine.EnsureImage(ctx, jc.Image, jc.Pull, log); err != nil {
		return nil, err
	}
	for _, svc := range jc.Services {
		if err := c.Engine.EnsureImage(ctx, svc.Image, jc.Pull, log); err != nil {
			return nil, fmt.Errorf("service %s: %w", svc.Name, err)
		}
	}
	api := c.Engine.api
	if _, err := api.NetworkCreate(ctx, dockerapi.CreateNetwork{
		Name: j.network, Driver: "bridge", Internal: c.NoNetwork, Labels: j.labels}); err != nil {
		return nil, fmt.Errorf("container: create the job's network: %w", err)
	}
	services := make([]string, len(jc.Services))
	for i, svc := range jc.Services {
		if services[i], err = j.startService(ctx, svc); err != nil {
			return nil, fmt.Errorf("service %s: %w", svc.Name, err)
		}
	}
	if j.id, err = j.startJobContainer(ctx); err != nil {
		return nil, err
	}
	for i, svc := range jc.Services {
		fmt.Fprintf(log, "waiting for service %s\n", svc.Name)
		if err := j.waitReady(ctx, svc, services[i]); err != nil {
			return nil, fmt.Errorf("service %s: %w", svc.Name, err)
		}
	}
	return j, nil
}

// startJobContainer creates and starts the container the steps run in.
func (j *containerJob) startJobContainer(ctx context.Context) (string, error) {
	spec, jc := j.spec, j.spec.Container
	labels := j.roleLabels("job")
	binds := []string{spec.Workspace + ":" + spec.Workspace, spec.Home + ":" + spec.Home,
		spec.Control + ":" + spec.Control + ":ro"}
	for _, p := range spec.ReadOnly {
		binds = append(binds, p+":"+p+":ro")
	}
	hc := &dockerapi.HostConfig{
		Binds:       binds,
		NetworkMode: j.network,
		CapDrop:     []string{"ALL"},
		SecurityOpt: []string{"no-new-privileges"},
	}
	if r := jc.Resources; r != nil {
		hc.NanoCPUs = int64(r.CPUs * 1e9)
		hc.Memory = r.MemoryBytes
	}
	id, err := j.c.Engine.api.ContainerCreate(ctx, j.network+"-job", dockerapi.CreateContainer{
		Config: dockerapi.Config{
			Image: jc.Image,
			// The steps' execs name their user and directory themselves.
			User:       j.c.initUser(),
			WorkingDir: "/",
			Entrypoint: []string{"/bin/sh", "-c", keepAlive},
			Cmd:        []string{"lathe-job"},
			Labels:     labels,
		},
		HostConfig: hc,
	})
	if err != nil {
		return "", fmt.Errorf("container: create the job container from %s: %w", jc.Image, err)
	}
	if err := j.c.Engine.api.ContainerStart(ctx, id); err != nil {
		return id, fmt.Errorf("container: start the job container from %s: %w", jc.Image, err)
	}
	return id, nil
}

// roleLabels are the job's labels with the container's role.
func (j *containerJob) roleLabels(role string) map[string]string {
	l := map[string]string{LabelRole: role}
	for k, v := range j.labels {
		l[k] = v
	}
	return l
}

// Run runs one step inside the job container.
func (j *containerJob) Run(ctx context.Context, st Step) (int, error) {
	j.steps++
	fifo := filepath.Join(j.spec.Control, strconv.Itoa(j.steps)+".out")
	drained, err := j.fifoOutput(fifo, st.Output)
	if err != nil {
		return -1, err
	}
	defer unblockFIFO(fifo) // a copier the step never reached ends
	api := j.c.Engine.api
	ex, err := api.ExecCreate(ctx, j.id, dockerapi.ExecConfig{
		User: j.c.user(), Env: j.spec.Env, WorkingDir: j.spec.Workspace,
		AttachStdout: true, AttachStderr: true,
		Cmd: []string{"/bin/sh", "-c", stepWrapper, "lathe-step", st.Script, fifo},
	})
	if err != nil {
		return -1, j.failure(ctx, "start the step", err)
	}
	att, err := api.ExecStart(ctx, ex)
	if err != nil {
		return -1, j.failure(ctx, "start the step", err)
	}
	ended := drain(att)
	select {
	case <-ended:
		att.Close()
	case <-ctx.Done():
		j.stop(ended)
		att.Close()
		return -1, ctx.Err()
	}
	code, err := j.exitCode(ctx, ex)
	if err != nil {
		return -1, err
	}
	t := time.NewTimer(stepDrainWait)
	defer t.Stop()
	select {
	case <-drained:
	case <-t.C:
	}
	return code, nil
}

// failure names what went wrong; when the job container has stopped, its
// end says why.
func (j *containerJob) failure(ctx context.Context, what string, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if in, ierr := j.c.Engine.api.ContainerInspect(context.WithoutCancel(ctx), j.id); ierr == nil &&
		in.State != nil && !in.State.Running {
		return fmt.Errorf("container: %s: the job container has stopped (exit code %d, %s): %w", what,
			in.State.ExitCode, in.State.Error, err)
	}
	return fmt.Errorf("container: %s: %w", what, err)
}

// exitCode reads an ended exec's exit code from the engine. The exec's
// stream ends as its process does; the engine may need a moment more
// before it reports the process gone.
func (j *containerJob) exitCode(ctx context.Context, execID string) (int, error) {
	ictx := context.WithoutCancel(ctx)
	for i := 0; ; i++ {
		in, err := j.c.Engine.api.ExecInspect(ictx, execID)
		if err != nil {
			return -1, j.failure(ctx, "read the step's exit code", err)
		}
		if !in.Running {
			return in.ExitCode, nil
		}
		if i == 1000 {
			return -1, fmt.Errorf("container: the step's output ended but the engine still reports it running")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// exec runs cmd in container id as user (the image's when empty) and
// returns its exit code; its output is discarded.
func (j *containerJob) exec(ctx context.Context, id, user string, cmd ...string) (int, error) {
	api := j.c.Engine.api
	ex, err := api.ExecCreate(ctx, id, dockerapi.ExecConfig{User: user, AttachStdout: true, AttachStderr: true, Cmd: cmd})
	if err != nil {
		return -1, err
	}
	att, err := api.ExecStart(ctx, ex)
	if err != nil {
		return -1, err
	}
	ended := drain(att)
	select {
	case <-ended:
	case <-ctx.Done():
	}
	att.Close()
	<-ended
	if ctx.Err() != nil {
		return -1, ctx.Err()
	}
	return j.exitCode(ctx, ex)
}

// drain reads an exec's stream to its end, which comes when the exec's
// process ends (or the stream is closed), and then closes the channel.
func drain(stream io.Reader) <-chan struct{} {
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		io.Copy(io.Discard, stream)
	}()
	return ended
}

// stop ends the running step and everything the job's steps started inside
// the container: SIGTERM to every process of the steps' user there (kill -1
// spares the kill itself; the container's init runs as another user),
// a grace period until the step ends, then SIGKILL, and a wait (bounded)
// until none of them is left, so nothing of the step runs once stop
// returns. Killing only the exec's client would leave the step running.
// Two execs in all; stop returns within the grace and stopSlack.
func (j *containerJob) stop(ended <-chan struct{}) {
	grace := j.c.grace()
	ctx, cancel := context.WithTimeout(context.Background(), grace+stopSlack)
	defer cancel()
	j.exec(ctx, j.id, j.c.user(), "/bin/sh", "-c", "kill -TERM -1")
	t := time.NewTimer(grace)
	select {
	case <-ended:
	case <-t.C:
	case <-ctx.Done():
	}
	t.Stop()
	j.exec(ctx, j.id, j.c.user(), "/bin/sh", "-c", killAll)
}

// killAll, run as the steps' user, sends SIGKILL to every process of the
// steps and waits (about 5 s at most) until none is left but itself: a
// process of the user has its /proc directory owned by the user (-O). Not
// `kill -0 -1`, which succeeds while the namespace holds any process but
// init and the caller, whoever it belongs to (the init's sleep). SIGKILL
// goes again at each look, to a process forked after the last.
const killAll = `n=0
while :; do
	kill -KILL -1 2>/dev/null
	left=
	for p in /proc/[0-9]*; do
		[ "$p" != /proc/$$ ] && [ -O "$p" ] && left=1 && break
	done
	[ -z "$left" ] && exit 0
	n=$((n+1))
	[ $n -ge 100 ] && exit 1
	sleep 0.05 2>/dev/null || { sleep 1; n=$((n+19)); }
done`

// stopSlack bounds, past the grace, the execs that stop a step.
const stopSlack = 10 * time.Second

// Own gives the steps' user what the agent wrote at path.
func (j *containerJob) Own(path string) error { return j.c.own(path) }

// Close removes the job's containers (killing what still runs in them) and
// its network, and waits (bounded) for the last output to reach the log.
func (j *containerJob) Close() {
	j.closeOne.Do(func() {
		j.remove()
		for _, f := range j.fifos {
			unblockFIFO(f)
		}
		done := make(chan struct{})
		go func() { j.copiers.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
		}
		for _, f := range j.fifos {
			os.Remove(f)
		}
	})
}

// remove removes every container and the network of the attempt.
func (j *containerJob) remove() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	j.c.Engine.RemoveLabelled(ctx, append(j.c.agentLabels(), LabelAttempt+"="+j.labels[LabelAttempt])...)
}

// fifoOutput makes a step's output FIFO, owned by the steps' user, and
// copies what comes through it to out (see copyFIFO).
func (j *containerJob) fifoOutput(fifo string, out *os.File) (<-chan struct{}, error) {
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		return nil, fmt.Errorf("step output: %w", err)
	}
	j.fifos = append(j.fifos, fifo)
	if err := j.c.own(fifo); err != nil {
		return nil, fmt.Errorf("step output: %w", err)
	}
	return copyFIFO(&j.copiers, fifo, out)
}

// networkAliases puts a container on the job's network under names.
func (j *containerJob) networkAliases(names ...string) *dockerapi.NetworkingConfig {
	return &dockerapi.NetworkingConfig{EndpointsConfig: map[string]*dockerapi.EndpointSettings{
		j.network: {Aliases: names},
	}}
}
