package dockerapi_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/pkg/stdcopy"

	"github.com/lathe-ci/lathe/internal/dockerapi"
	"github.com/lathe-ci/lathe/internal/enginetest"
)

// The calls against a real engine: a container's life, an exec's stream
// and exit code, its logs, label filters, and the engine's refusals.
func TestEngineCalls(t *testing.T) {
	engine := enginetest.Engine(t)
	api := engine.Client()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	label := map[string]string{"lathe.dockerapi-test": t.Name()}
	f := dockerapi.Filters{"label": {"lathe.dockerapi-test=" + t.Name()}}
	t.Cleanup(func() {
		cs, _ := api.ContainerList(context.Background(), true, f)
		for _, c := range cs {
			api.ContainerRemove(context.Background(), c.ID, true, true)
		}
	})

	if _, err := api.ImageInspect(ctx, enginetest.Missing); !dockerapi.IsNotFound(err) || !strings.Contains(err.Error(), "no-such-image") {
		t.Errorf("inspect a missing image: %v, want a not-found error naming it", err)
	}
	img, err := api.ImageInspect(ctx, enginetest.ServiceImage)
	if err != nil || img.Config == nil {
		t.Fatalf("inspect %s: %+v, %v", enginetest.ServiceImage, img, err)
	}
	if _, ok := img.Config.ExposedPorts["7000/tcp"]; !ok {
		t.Errorf("exposed ports %v, want 7000/tcp", img.Config.ExposedPorts)
	}

	id, err := api.ContainerCreate(ctx, "", dockerapi.CreateContainer{
		Config: dockerapi.Config{Image: enginetest.Image, Labels: label,
			Cmd: []string{"/bin/sh", "-c", "echo out; echo err >&2; exec sleep 600"}},
		HostConfig: &dockerapi.HostConfig{NetworkMode: "none", Memory: 32 << 20},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := api.ContainerStart(ctx, id); err != nil {
		t.Fatal(err)
	}
	cs, err := api.ContainerList(ctx, false, f)
	if err != nil || len(cs) != 1 || cs[0].ID != id || cs[0].State != dockerapi.StateRunning {
		t.Fatalf("list by label: %+v, %v; want the running container %s", cs, err, id)
	}
	in, err := api.ContainerInspect(ctx, id)
	if err != nil || in.State == nil || !in.State.Running || in.HostConfig == nil || in.HostConfig.Memory != 32<<20 {
		t.Fatalf("inspect: %+v, %v", in, err)
	}

	ex, err := api.ExecCreate(ctx, id, dockerapi.ExecConfig{AttachStdout: true, AttachStderr: true,
		Cmd: []string{"/bin/sh", "-c", "echo from-exec; exit 3"}})
	if err != nil {
		t.Fatal(err)
	}
	stream, err := api.ExecStart(ctx, ex)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if _, err := stdcopy.StdCopy(&out, &out, stream); err != nil {
		t.Fatalf("read the exec's stream: %v", err)
	}
	stream.Close()
	if out.String() != "from-exec\n" {
		t.Errorf("exec output %q", out.String())
	}
	var st dockerapi.ExecState
	for range 200 { // the engine may report the end a moment after the stream ends
		if st, err = api.ExecInspect(ctx, ex); err != nil || !st.Running {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err != nil || st.Running || st.ExitCode != 3 {
		t.Errorf("exec state %+v, %v; want ended with 3", st, err)
	}

	logs, err := api.ContainerLogs(ctx, id, "10")
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	_, err = stdcopy.StdCopy(&stdout, &stderr, logs)
	logs.Close()
	if err != nil || stdout.String() != "out\n" || stderr.String() != "err\n" {
		t.Errorf("logs: stdout %q stderr %q, %v", stdout.String(), stderr.String(), err)
	}

	if err := api.ContainerKill(ctx, id, "KILL"); err != nil {
		t.Fatal(err)
	}
	for range 200 {
		if in, err = api.ContainerInspect(ctx, id); err != nil || !in.State.Running {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Docker answers 409 for a container that is not running, Podman 500.
	if err := api.ContainerKill(ctx, id, "KILL"); err == nil ||
		strings.HasPrefix(engine.Name, "docker") && !dockerapi.IsConflict(err) {
		t.Errorf("kill a stopped container (%s): %v, want a refusal (a conflict from Docker)", engine.Name, err)
	}
	if err := api.ContainerRemove(ctx, id, false, true); err != nil {
		t.Fatal(err)
	}
	if _, err := api.ContainerInspect(ctx, id); !dockerapi.IsNotFound(err) {
		t.Errorf("inspect a removed container: %v, want not found", err)
	}
}

// A network is created with its labels, found by them, and removed.
func TestEngineNetworks(t *testing.T) {
	api := enginetest.Engine(t).Client()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	name := "lathe-dockerapi-test-net"
	f := dockerapi.Filters{"label": {"lathe.dockerapi-test=net"}}
	id, err := api.NetworkCreate(ctx, dockerapi.CreateNetwork{Name: name, Driver: "bridge", Internal: true,
		Labels: map[string]string{"lathe.dockerapi-test": "net"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { api.NetworkRemove(context.Background(), id) })
	ns, err := api.NetworkList(ctx, f)
	if err != nil || len(ns) != 1 || ns[0].ID != id || ns[0].Name != name || !ns[0].Internal {
		t.Fatalf("list by label: %+v, %v", ns, err)
	}
	if err := api.NetworkRemove(ctx, id); err != nil {
		t.Fatal(err)
	}
	if ns, err := api.NetworkList(ctx, f); err != nil || len(ns) != 0 {
		t.Errorf("after removal: %+v, %v", ns, err)
	}
	if err := api.NetworkRemove(ctx, id); !dockerapi.IsNotFound(err) {
		t.Errorf("remove a removed network: %v, want not found", err)
	}
}

// A pull the engine cannot do (no registry is reachable here; the name is
// also invalid for any) is an error with the engine's words, not a hang.
func TestEnginePullRefused(t *testing.T) {
	api := enginetest.Engine(t).Client()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := api.ImagePull(ctx, "127.0.0.1:1/lathe-test/none:1")
	if err == nil {
		t.Fatal("pull from a closed port succeeded")
	}
	if !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Errorf("pull error %q does not name the registry", err)
	}
}
