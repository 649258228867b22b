package cli

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

// onSignals calls first on the first SIGTERM or SIGINT and second on the
// next one: long-running commands stop gently on the first (drain) and at
// once on the second. Call the returned stop when the command ends; it
// waits for nothing, and no call follows it.
func onSignals(ctx context.Context, first, second func(os.Signal)) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGTERM, os.Interrupt)
	go func() {
		for _, call := range []func(os.Signal){first, second} {
			select {
			case s := <-sigs:
				call(s)
			case <-ctx.Done():
				return
			}
		}
	}()
	return func() {
		signal.Stop(sigs)
		cancel()
	}
}
