package cli

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"sync"
	"syscall"
)

// startCPUProfile profiles this process into path until the returned stop
// is called (`go tool pprof` reads the file). With rotate, each SIGUSR1
// ends the file being written and starts the next, path.1, path.2 …, so a
// window of a long run can be profiled on its own (the benchmark signals
// at the window's start and end), and writes a heap profile of that
// moment to path.heap.1, path.heap.2 ….
func startCPUProfile(path string, rotate bool) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	var mu sync.Mutex
	end := func() {
		pprof.StopCPUProfile()
		f.Close()
	}
	if !rotate {
		return end, nil
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGUSR1)
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		for n := 1; ; n++ {
			select {
			case <-sigs:
			case <-done:
				return
			}
			mu.Lock()
			writeHeapProfile(fmt.Sprintf("%s.heap.%d", path, n))
			end()
			if f, err = os.Create(fmt.Sprintf("%s.%d", path, n)); err == nil {
				if err = pprof.StartCPUProfile(f); err != nil {
					f.Close()
				}
			}
			mu.Unlock()
			if err != nil {
				fmt.Fprintf(os.Stderr, "cpu profile %s.%d: %v\n", path, n, err)
				return
			}
		}
	}()
	return func() {
		signal.Stop(sigs)
		close(done)
		<-finished
		mu.Lock()
		defer mu.Unlock()
		end()
	}, nil
}

// writeHeapProfile writes the heap's profile to path, saying on stderr
// when it cannot.
func writeHeapProfile(path string) {
	f, err := os.Create(path)
	if err == nil {
		err = errors.Join(pprof.WriteHeapProfile(f), f.Close())
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "heap profile %s: %v\n", path, err)
	}
}
