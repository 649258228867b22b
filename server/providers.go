package server

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/api"
	"github.com/lathe-ci/lathe/auth"
	"github.com/lathe-ci/lathe/provision"
)

// startProviders starts the agent providers' loop (see package
// provision): a registration token of its own for the agents it starts,
// the process provider running this server's own binary with work
// directories under <DataDir>/provider, the container provider running it
// in containers of the engine --container-host names. The returned func
// stops the loop, stops the process provider's agents (SIGTERM, SIGKILL
// after the grace), removes the container provider's containers, and
// revokes the token.
func (s *Server) startProviders(ctx context.Context) func() {
	bin := s.cfg.ProviderBinary
	if bin == "" {
		exe, err := os.Executable()
		if err != nil {
			s.cfg.Log.Warn("agent providers: no process provider: this server's binary is unknown", "err", err)
		}
		bin = exe
	}
	// The token is made when the first agent starts, and revoked when
	// the server stops.
	var mu sync.Mutex
	var token string
	var rt *lathe.RegistrationToken
	regToken := func(ctx context.Context) (string, error) {
		mu.Lock()
		defer mu.Unlock()
		if rt != nil {
			return token, nil
		}
		t, hash := auth.NewToken(api.RegistrationTokenPrefix)
		r := &lathe.RegistrationToken{Name: "agent providers (" + time.Now().UTC().Format(time.RFC3339) + ")"}
		if err := s.Store.CreateProviderRegistrationToken(ctx, r, hash); err != nil {
			return "", fmt.Errorf("agent providers' registration token: %w", err)
		}
		token, rt = t, r
		return token, nil
	}
	var proc *provision.Process
	if bin != "" {
		proc = &provision.Process{Binary: bin, Dir: filepath.Join(s.cfg.DataDir, "provider"), Args: s.cfg.ProviderAgentArgs}
	}
	var ctr *provision.Container
	if bin != "" && s.cfg.Executor.ContainerHost != "" {
		ctr = &provision.Container{Host: s.cfg.Executor.ContainerHost, Binary: bin, Binds: s.cfg.ProviderContainerBinds}
	}
	loop := &provision.Loop{Store: s.Store, Process: proc, Container: ctr, Server: s.URL, RegistrationToken: regToken,
		Interval: s.cfg.ProvisionInterval, Clock: s.cfg.Clock, Log: s.cfg.Log}
	loopCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		loop.Run(loopCtx)
	}()
	return func() {
		stop()
		<-done
		grace := s.cfg.Grace
		if grace <= 0 {
			grace = 10 * time.Second
		}
		if proc != nil {
			proc.Kill(grace + 5*time.Second)
		}
		if ctr != nil {
			if err := ctr.RemoveAll(context.WithoutCancel(ctx)); err != nil {
				s.cfg.Log.Warn("agent providers: removing the agent containers", "err", err)
			}
			defer ctr.Close()
		}
		if err := loop.Forget(context.WithoutCancel(ctx)); err != nil {
			s.cfg.Log.Warn("agent providers: forgetting stopped agents", "err", err)
		}
		mu.Lock()
		defer mu.Unlock()
		if rt == nil {
			return
		}
		if err := s.Store.RevokeRegistrationToken(context.WithoutCancel(ctx), rt.ID); err != nil {
			s.cfg.Log.Warn("agent providers: revoking the registration token", "err", err)
		}
	}
}
