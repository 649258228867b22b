package store

import (
	"context"
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"
)

// Unavailable reports whether err means the database could not be reached
// (refused or dropped connections, a server shutting down or starting up)
// rather than that the request was wrong: the API answers 503 with
// Retry-After instead of 500, and the lease sweeper renews the leases the
// server could not renew while it lasted.
func Unavailable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var ne net.Error
	if errors.As(err, &ne) {
		// A bare errno is a net.Error too: a file's (ENOENT, EACCES) is no
		// outage; the network's errnos are the ones listed below.
		if _, errno := ne.(syscall.Errno); !errno {
			return true
		}
	}
	for _, e := range []error{driver.ErrBadConn, io.ErrUnexpectedEOF, syscall.ECONNREFUSED, syscall.ECONNRESET, syscall.EPIPE} {
		if errors.Is(err, e) {
			return true
		}
	}
	var pg interface{ SQLState() string }
	if errors.As(err, &pg) {
		// Class 08: connection exception; 57P01-57P03: the server is shutting
		// down, crashed, or not yet accepting connections.
		code := pg.SQLState()
		return strings.HasPrefix(code, "08") || code == "57P01" || code == "57P02" || code == "57P03"
	}
	// pgx reports a connection it closed after a failure without a type.
	msg := err.Error()
	return strings.Contains(msg, "conn closed") || strings.Contains(msg, "failed to connect")
}

// DiskFull reports whether err means a disk filled up: the server's
// (SQLite's "database or disk is full", PostgreSQL's disk_full) or a file
// it wrote. The API answers 503 naming it rather than 500.
func DiskFull(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, syscall.ENOSPC) {
		return true
	}
	var pg interface{ SQLState() string }
	if errors.As(err, &pg) && pg.SQLState() == "53100" {
		return true
	}
	var lite interface{ Code() int }
	if errors.As(err, &lite) && lite.Code()&0xff == 13 { // SQLITE_FULL
		return true
	}
	msg := strings.ToLower(err.Error())
	return strings.Contains(msg, "no space left on device") || strings.Contains(msg, "database or disk is full")
}
