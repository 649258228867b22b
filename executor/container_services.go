package executor

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/internal/dockerapi"
	"github.com/moby/moby/api/pkg/stdcopy"
)

// startService creates and starts one of the job's services on the job's
// network, reachable there by its name, and returns its container's ID.
func (j *containerJob) startService(ctx context.Context, svc lathe.Service) (string, error) {
	env := make([]string, len(svc.Env))
	for i, v := range svc.Env {
		env[i] = v.Name + "=" + v.Value
	}
	cfg := dockerapi.Config{Image: svc.Image, Env: env, Hostname: svc.Name, Labels: j.roleLabels("service")}
	if len(svc.Command) > 0 {
		cfg.Cmd = svc.Command
	}
	api := j.c.Engine.api
	id, err := api.ContainerCreate(ctx, j.network+"-"+svc.Name, dockerapi.CreateContainer{
		Config:           cfg,
		HostConfig:       &dockerapi.HostConfig{NetworkMode: j.network},
		NetworkingConfig: j.networkAliases(svc.Name),
	})
	if err != nil {
		return "", fmt.Errorf("create a container from %s: %w", svc.Image, err)
	}
	if err := api.ContainerStart(ctx, id); err != nil {
		return id, fmt.Errorf("start a container from %s: %w", svc.Image, err)
	}
	return id, nil
}

// serviceRetry is the pause between two readiness checks of a service.
const serviceRetry = 200 * time.Millisecond

// waitReady waits until the service is ready: its ready command exits 0,
// or, without one, every TCP port its image exposes accepts a connection.
// A service that stops first, or is not ready within its timeout, is an
// error saying why, with the last lines it wrote.
func (j *containerJob) waitReady(ctx context.Context, svc lathe.Service, id string) error {
	timeout := serviceTimeout(svc)
	deadline := time.Now().Add(timeout)
	api := j.c.Engine.api
	var ports []string
	if svc.Ready == "" {
		img, err := api.ImageInspect(ctx, svc.Image)
		if err != nil {
			return fmt.Errorf("inspect image %s: %w", svc.Image, err)
		}
		if img.Config != nil {
			for p := range img.Config.ExposedPorts { // "5432/tcp"
				if num, proto, _ := strings.Cut(p, "/"); proto == "" || proto == "tcp" {
					ports = append(ports, num)
				}
			}
		}
	}
	for {
		in, err := api.ContainerInspect(ctx, id)
		if err != nil {
			return fmt.Errorf("inspect its container: %w", err)
		}
		if st := in.State; st == nil || !st.Running {
			code := -1
			if st != nil {
				code = st.ExitCode
			}
			return fmt.Errorf("stopped (exit code %d) before it was ready%s", code, j.lastLines(ctx, id))
		}
		var why string
		if svc.Ready != "" {
			code, err := j.exec(ctx, id, "", "/bin/sh", "-c", svc.Ready)
			switch {
			case err != nil:
				why = fmt.Sprintf("ready command %q: %v", svc.Ready, err)
			case code != 0:
				why = fmt.Sprintf("ready command %q exited with %d", svc.Ready, code)
			}
		} else {
			why = j.portsClosed(in, ports)
		}
		if why == "" {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready after %s: %s%s", timeout, why, j.lastLines(ctx, id))
		}
		t := time.NewTimer(serviceRetry)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		}
	}
}

// portsClosed says which of ports of the service's address on the job's
// network refuses a connection; "" when none does.
func (j *containerJob) portsClosed(in dockerapi.Inspect, ports []string) string {
	if len(ports) == 0 {
		return ""
	}
	var addr netip.Addr
	if in.NetworkSettings != nil {
		if ep := in.NetworkSettings.Networks[j.network]; ep != nil {
			addr, _ = netip.ParseAddr(ep.IPAddress)
		}
	}
	if !addr.IsValid() {
		return "it has no address on the job's network yet"
	}
	for _, p := range ports {
		c, err := net.DialTimeout("tcp", net.JoinHostPort(addr.String(), p), time.Second)
		if err != nil {
			return fmt.Sprintf("port %s: %v", p, err)
		}
		c.Close()
	}
	return ""
}

// lastLines returns the last lines a container wrote, to end an error message.
func (j *containerJob) lastLines(ctx context.Context, id string) string {
	r, err := j.c.Engine.api.ContainerLogs(context.WithoutCancel(ctx), id, "10")
	if err != nil {
		return ""
	}
	defer r.Close()
	var out bytes.Buffer
	stdcopy.StdCopy(&out, &out, r)
	text := strings.TrimSpace(out.String())
	if text == "" {
		return ""
	}
	return "; its last output:\n" + text
}
