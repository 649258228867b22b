package auth

import (
	"context"
	"errors"
	"time"
)

// ErrBusy reports that every password-hashing slot stayed taken for the
// whole wait: the caller should answer 429 and let the client come back.
var ErrBusy = errors.New("too many password checks at once")

// Hasher runs HashPassword and CheckPassword with at most a fixed number
// at once. Each argon2id computation holds argonMemory (19 MiB) for tens of
// milliseconds, so without a cap 300 parallel logins would take 6 GB; with
// one, memory stays at slots × 19 MiB whatever the load, and callers beyond
// the cap wait briefly, then get ErrBusy.
type Hasher struct {
	slots chan struct{}
	wait  time.Duration
}

// NewHasher returns a Hasher running at most slots computations at once
// (at least 1); a caller waits at most wait for a free slot.
func NewHasher(slots int, wait time.Duration) *Hasher {
	return &Hasher{slots: make(chan struct{}, max(slots, 1)), wait: wait}
}

// acquire takes a slot; release gives it back.
func (h *Hasher) acquire(ctx context.Context) error {
	select {
	case h.slots <- struct{}{}:
		return nil
	default:
	}
	t := time.NewTimer(h.wait)
	defer t.Stop()
	select {
	case h.slots <- struct{}{}:
		return nil
	case <-t.C:
		return ErrBusy
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (h *Hasher) release() { <-h.slots }

// Hash is HashPassword within the cap.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	defer h.release()
	return HashPassword(password), nil
}

// Check is CheckPassword within the cap.
func (h *Hasher) Check(ctx context.Context, encoded, password string) (bool, error) {
	if err := h.acquire(ctx); err != nil {
		return false, err
	}
	defer h.release()
	return CheckPassword(encoded, password)
}
