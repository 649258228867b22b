package blob

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"unsafe"
)

// Large objects (artifacts of hundreds of megabytes, caches) are most of
// what a put costs, so a put is a pipeline of two goroutines: one reads the
// body and hashes it, the other writes what was read, a few megabytes
// behind, so the hashing and the writing overlap. Where the file system
// allows it the file is written with direct I/O (see openTemp): the bytes
// go from the buffer to the disk without a copy into the page cache, so a
// large object neither costs the CPU that copy nor fills memory with dirty
// pages the final fsync would wait for, and that fsync has little left to do.

const (
	// blockSize is one read and one write of the pipeline: big enough
	// that a system call moves a lot, small enough that three are cheap.
	blockSize = 4 << 20
	// firstBlockSize is the first block's: most objects (logs, archives
	// of a few files) fit in it, and a server taking many of them at once
	// should not hold megabytes for each.
	firstBlockSize = 256 << 10
	// blocks in flight: one being read, one being written, one spare.
	blocks = 3
	// directAlign is what direct I/O wants buffers and lengths aligned to
	// (the logical block size of any common device divides it).
	directAlign = 4096
)

// Pools keep blocks between puts: each block is directAlign-aligned.
var (
	firstPool = sync.Pool{New: func() any { return alignedBlock(firstBlockSize) }}
	blockPool = sync.Pool{New: func() any { return alignedBlock(blockSize) }}
)

func alignedBlock(size int) *[]byte {
	b := make([]byte, size+directAlign)
	off := int(uintptr(unsafe.Pointer(&b[0])) & (directAlign - 1))
	if off != 0 {
		off = directAlign - off
	}
	b = b[off : off+size : off+size]
	return &b
}

// tempFile is a file being written, with direct I/O or not.
type tempFile struct {
	*os.File
	direct bool
}

// writeAll writes b at the file's end. With direct I/O a length that is
// not a multiple of directAlign (the object's last bytes) is written in
// two: the aligned part directly, the rest through the page cache; a file
// system that refuses a direct write gets the page cache from then on.
func (f *tempFile) writeAll(b []byte) error {
	if f.direct {
		aligned := len(b) &^ (directAlign - 1)
		_, err := f.Write(b[:aligned])
		if err == nil {
			b = b[aligned:]
		} else if !errors.Is(err, errInvalid) {
			return err
		}
		if len(b) > 0 {
			if err := clearDirect(f.File); err != nil {
				return err
			}
			f.direct = false
		}
	}
	_, err := f.Write(b)
	return err
}

// copyHashed writes all of r to f and returns its size and SHA-256 (hex).
func copyHashed(ctx context.Context, f *tempFile, r io.Reader) (int64, string, error) {
	type block struct {
		buf *[]byte
		n   int
	}
	// Blocks are taken as needed: a small object uses the small first
	// one only, a large one goes on with big ones.
	free := make(chan *[]byte, blocks)
	taken := 0
	next := func() *[]byte {
		select {
		case b := <-free:
			return b
		default:
		}
		switch taken++; {
		case taken == 1:
			return firstPool.Get().(*[]byte)
		case taken <= blocks:
			return blockPool.Get().(*[]byte)
		}
		return <-free
	}
	defer func() {
		for range min(taken, blocks) {
			b := <-free
			if cap(*b) == firstBlockSize {
				firstPool.Put(b)
			} else {
				blockPool.Put(b)
			}
		}
	}()
	full := make(chan block, blocks)
	done := make(chan error, 1)
	var failed atomic.Bool
	go func() {
		var err error
		for b := range full {
			if err == nil {
				if err = f.writeAll((*b.buf)[:b.n]); err != nil {
					failed.Store(true)
				}
			}
			free <- b.buf
		}
		done <- err
	}()
	h := sha256.New()
	var n int64
	var rerr error
	for !failed.Load() {
		buf := next()
		if rerr = ctx.Err(); rerr != nil {
			free <- buf
			break
		}
		m, err := io.ReadFull(r, *buf)
		if m > 0 {
			h.Write((*buf)[:m])
			n += int64(m)
			full <- block{buf, m}
		} else {
			free <- buf
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			rerr = err
			break
		}
	}
	close(full)
	werr := <-done
	if rerr != nil {
		return n, "", rerr
	}
	if werr != nil {
		return n, "", werr
	}
	return n, hex.EncodeToString(h.Sum(nil)), nil
}
