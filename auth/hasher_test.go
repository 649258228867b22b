package auth

import (
	"context"
	"errors"
	"testing"
	"time"
)

// A Hasher runs at most its number of slots at once: with every slot
// taken, a caller waits the configured time, then gets ErrBusy; once a
// slot is free, it goes through.
func TestHasherCapsConcurrentHashing(t *testing.T) {
	h := NewHasher(2, 50*time.Millisecond)
	ctx := context.Background()
	for range 2 {
		if err := h.acquire(ctx); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	if _, err := h.Check(ctx, HashPassword("pw"), "pw"); !errors.Is(err, ErrBusy) {
		t.Fatalf("check with every slot taken: %v, want ErrBusy", err)
	}
	if waited := time.Since(start); waited < 50*time.Millisecond {
		t.Errorf("gave up after %v, want a wait of 50ms first", waited)
	}
	if _, err := h.Hash(ctx, "pw"); !errors.Is(err, ErrBusy) {
		t.Fatalf("hash with every slot taken: %v, want ErrBusy", err)
	}
	h.release()
	enc, err := h.Hash(ctx, "pw")
	if err != nil {
		t.Fatalf("hash with a free slot: %v", err)
	}
	if ok, err := h.Check(ctx, enc, "pw"); !ok || err != nil {
		t.Fatalf("check with a free slot: %v %v", ok, err)
	}
	if len(h.slots) != 1 {
		t.Errorf("%d slots held after the calls returned, want the 1 the test holds", len(h.slots))
	}
}
