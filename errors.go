package lathe

import "errors"

// Sentinel errors shared by every layer. Adapters wrap them with context
// (fmt.Errorf("get run %d: %w", id, ErrNotFound)); the API turns them into
// problem+json responses with the matching HTTP status.
var (
	ErrNotFound     = errors.New("not found")
	ErrConflict     = errors.New("conflict")
	ErrInvalid      = errors.New("invalid input")
	ErrUnauthorized = errors.New("unauthorized")
	ErrForbidden    = errors.New("forbidden")
	// ErrFenced is returned to a writer whose attempt is no longer current
	// (finished, canceled or lost): its writes are refused.
	ErrFenced = errors.New("attempt is no longer current")
	// ErrExpired is content (a log, an artifact) that retention removed:
	// its record stays, its bytes are gone.
	ErrExpired = errors.New("expired")
)
