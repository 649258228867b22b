package cli

import (
	"os"
	"runtime/pprof"
)

// startCPUProfile profiles this process into path until the returned stop
// is called (`go tool pprof` reads the file).
func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}
