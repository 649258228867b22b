package store_test

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"syscall"
	"testing"

	"github.com/lathe-ci/lathe/store"
)

// Unavailable tells a database that cannot be reached from every other
// failure: a missing or unreadable file (a blob gone from the data
// directory) is not an outage, although Go's errno satisfies net.Error.
// Before, such a file made the API answer 503 "the database is
// unreachable" with Retry-After, for good.
func TestUnavailableIsTheDatabaseOnly(t *testing.T) {
	for _, c := range []struct {
		name string
		err  error
		want bool
	}{
		{"refused dial", &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}, true},
		{"reset", fmt.Errorf("read: %w", syscall.ECONNRESET), true},
		{"cut short", fmt.Errorf("read: %w", io.ErrUnexpectedEOF), true},
		{"no such file", fmt.Errorf("blob 1/2: %w", &fs.PathError{Op: "open", Path: "/data/artifacts/1/2", Err: syscall.ENOENT}), false},
		{"permission", &fs.PathError{Op: "open", Path: "/data/uploads/1", Err: syscall.EACCES}, false},
		{"other", errors.New("boom"), false},
		{"none", nil, false},
	} {
		if got := store.Unavailable(c.err); got != c.want {
			t.Errorf("%s: Unavailable(%v) = %v, want %v", c.name, c.err, got, c.want)
		}
	}
}
