package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding"
	"fmt"
	"hash"

	lathe "github.com/lathe-ci/lathe"
)

// appendLog places data at offset off in an attempt's log whose durable size
// is *size. Bytes the server already holds are skipped (the first copy of a
// byte wins), so a resent or duplicated chunk changes nothing; a chunk that would
// leave a gap is not stored, and the caller tells the agent the size it has so
// it resends from there. It reports whether the log grew.
func (t *txn) appendLog(ctx context.Context, attemptID int64, size *int64, off int64, data []byte) (bool, error) {
	chunk, end := newLogBytes(*size, off, data)
	if len(chunk) == 0 {
		return false, nil
	}
	if _, err := t.insertChunk(ctx, attemptID, *size, chunk); err != nil {
		return false, err
	}
	if err := t.write(ctx, `UPDATE attempts SET log_size = ? WHERE id = ?`, end, attemptID); err != nil {
		return false, err
	}
	*size = end
	return true, nil
}

// newLogBytes is what of data, placed at offset off, an attempt's log of
// size bytes lacks (as appendLog decides), and the log's size once it is
// stored.
func newLogBytes(size, off int64, data []byte) ([]byte, int64) {
	end := off + int64(len(data))
	if len(data) == 0 || end <= size || off > size {
		return nil, size
	}
	return data[size-off:], end
}

// insertChunk stores data at offset off of an attempt's log, whose size
// the caller updates. It reports whether there was anything to store.
func (t *txn) insertChunk(ctx context.Context, attemptID, off int64, data []byte) (bool, error) {
	if len(data) == 0 {
		return false, nil
	}
	// arrived_at is the line-time index (see LogArrivals): one integer
	// more in the row the chunk is written in anyway.
	if err := t.write(ctx, `INSERT INTO log_chunks (attempt_id, off, size, data, arrived_at) VALUES (?, ?, ?, ?, ?)`,
		attemptID, off, len(data), data, micros(t.now)); err != nil {
		return false, fmt.Errorf("append log of attempt %d: %w", attemptID, err)
	}
	return true, nil
}

// ReadLog returns up to limit bytes of an attempt's log from offset off, with
// the attempt itself (its LogSize and Status tell whether more may come).
func (s *Store) ReadLog(ctx context.Context, attemptID, off, limit int64) ([]byte, *lathe.Attempt, error) {
	a, err := s.Attempt(ctx, attemptID)
	if err != nil {
		return nil, nil, err
	}
	if a.LogExpiredAt != nil {
		return nil, nil, fmt.Errorf("the log of attempt %d was removed on %s under its branch's retention policy: %w",
			attemptID, a.LogExpiredAt.Format("2006-01-02 15:04 UTC"), lathe.ErrExpired)
	}
	if off < 0 || limit <= 0 {
		return nil, nil, fmt.Errorf("log range from %d, %d bytes: %w", off, limit, lathe.ErrInvalid)
	}
	if off >= a.LogSize {
		return []byte{}, a, nil
	}
	end := min(off+limit, a.LogSize)
	rows, err := s.query(ctx, `SELECT off, data FROM log_chunks WHERE attempt_id = ? AND off < ? AND off + size > ? ORDER BY off`,
		attemptID, end, off)
	if err != nil {
		return nil, nil, fmt.Errorf("read log of attempt %d: %w", attemptID, err)
	}
	defer rows.Close()
	var buf bytes.Buffer
	buf.Grow(int(end - off))
	for rows.Next() {
		var coff int64
		var data []byte
		if err := rows.Scan(&coff, &data); err != nil {
			return nil, nil, err
		}
		lo, hi := max(off-coff, 0), min(end-coff, int64(len(data)))
		buf.Write(data[lo:hi])
	}
	return buf.Bytes(), a, rows.Err()
}

// LogArrivals returns when each stored chunk of an attempt's log that
// overlaps the byte range [off, end) reached the server, in offset order:
// the index that gives each line of a log its time (see
// lathe.StampLines). Chunks stored before the server kept times have a
// zero At.
func (s *Store) LogArrivals(ctx context.Context, attemptID, off, end int64) ([]lathe.LogArrival, error) {
	rows, err := s.query(ctx, `SELECT off, arrived_at FROM log_chunks WHERE attempt_id = ? AND off < ? AND off + size > ? ORDER BY off`,
		attemptID, end, off)
	if err != nil {
		return nil, fmt.Errorf("read log times of attempt %d: %w", attemptID, err)
	}
	defer rows.Close()
	var out []lathe.LogArrival
	for rows.Next() {
		var a lathe.LogArrival
		var at int64
		if err := rows.Scan(&a.Offset, &at); err != nil {
			return nil, err
		}
		if at != 0 {
			a.At = fromMicros(at)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// logPrefix is the SHA-256 of the first size bytes of an attempt's log,
// hashed from the stored chunks before a finishing report's transaction,
// so the transaction hashes only the bytes the report adds. It is used
// only when the transaction finds exactly size bytes stored: chunks are
// never changed once stored, so the first size bytes are then these.
type logPrefix struct {
	size  int64
	state []byte // the sha256 digest's binary state
}

// readLogPrefix hashes the stored log of an attempt up to size bytes when
// the chunks cover exactly [0, size); otherwise, and on any error, it
// returns nil and the transaction hashes the stored log itself. It reads
// outside any transaction: a long log is read without holding SQLite's
// one writer (64 MB took 139 ms to read and hash in the transaction).
func (s *Store) readLogPrefix(ctx context.Context, attemptID, size int64) *logPrefix {
	rows, err := s.query(ctx, `SELECT off, data FROM log_chunks WHERE attempt_id = ? AND off < ? ORDER BY off`, attemptID, size)
	if err != nil {
		return nil
	}
	h, end, contiguous, err := hashChunks(rows)
	if err != nil || !contiguous || end != size {
		return nil
	}
	state, err := h.(encoding.BinaryMarshaler).MarshalBinary()
	if err != nil {
		return nil
	}
	return &logPrefix{size: size, state: state}
}

// hashChunks hashes the log chunks rows hands back (off, data, in offset
// order) one after another, and closes rows. It returns how many bytes it
// hashed, and whether each chunk started where the one before it ended.
func hashChunks(rows rows) (h hash.Hash, size int64, contiguous bool, err error) {
	defer rows.Close()
	h, contiguous = sha256.New(), true
	for rows.Next() {
		var off int64
		var data []byte
		if err := rows.Scan(&off, &data); err != nil {
			return nil, 0, false, err
		}
		contiguous = contiguous && off == size
		h.Write(data)
		size += int64(len(data))
	}
	return h, size, contiguous, rows.Err()
}

// sumWith is the SHA-256 of the prefix followed by more.
func (p *logPrefix) sumWith(more []byte) ([]byte, error) {
	h := sha256.New()
	if err := h.(encoding.BinaryUnmarshaler).UnmarshalBinary(p.state); err != nil {
		return nil, err
	}
	h.Write(more)
	return h.Sum(nil), nil
}
