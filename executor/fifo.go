package executor

import (
	"fmt"
	"io"
	"os"
	"sync"
	"syscall"
)

// copyFIFO copies what a step writes into its FIFO to out until every
// writer has closed it, counted in copiers. It holds its own copy of out:
// processes a step leaves in the background keep writing to the log until
// the job ends. done closes when the copy has ended.
func copyFIFO(copiers *sync.WaitGroup, fifo string, out *os.File) (done <-chan struct{}, err error) {
	fd, err := syscall.Dup(int(out.Fd()))
	if err != nil {
		return nil, fmt.Errorf("step output: %w", err)
	}
	dst := os.NewFile(uintptr(fd), out.Name())
	ended := make(chan struct{})
	copiers.Add(1)
	go func() {
		defer copiers.Done()
		defer close(ended)
		defer dst.Close()
		// Opening a FIFO for reading waits for its writer: the step.
		r, err := os.OpenFile(fifo, os.O_RDONLY, 0)
		if err != nil {
			return
		}
		defer r.Close()
		io.Copy(dst, r)
	}()
	return ended, nil
}

// unblockFIFO ends a copier still waiting for a step that never opened its FIFO.
func unblockFIFO(fifo string) {
	if f, err := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
		f.Close()
	}
}
