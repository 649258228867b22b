//go:build !linux

package blob

import (
	"errors"
	"os"
)

// errInvalid is never returned where there is no direct I/O.
var errInvalid = errors.New("no direct I/O")

// openTemp creates a temporary file in dir; direct I/O is Linux's only.
func openTemp(dir string) (*tempFile, error) {
	f, err := os.CreateTemp(dir, "put-*")
	if err != nil {
		return nil, err
	}
	return &tempFile{File: f}, nil
}

func clearDirect(*os.File) error { return nil }
