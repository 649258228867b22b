package lathe

import (
	"encoding/base64"
	"fmt"
	"unicode/utf8"
)

// LogChunk is the data of one "log" event of a live log stream: the log's
// bytes from Offset on. A log is bytes, not text: a step may print anything.
// A chunk that is valid UTF-8 travels as Text, readable as it is; any other
// chunk travels as Base64, because JSON strings cannot carry invalid UTF-8
// (an encoder would replace each bad byte with U+FFFD and the client could
// never rebuild the log). Exactly one of the two is set.
//
// A stream read with timestamps sends the same bytes with the time each
// line arrived at its head (see StampContinuing), in the same Text or
// Base64 field, so a client that prints what it gets needs no change;
// Offset and Size still count the log's own bytes, so a stamped chunk
// carries more bytes than Size.
type LogChunk struct {
	Offset int64 `json:"offset"`
	// Size is how many of the log's bytes the chunk stands for: the next
	// chunk starts at Offset+Size, which is also the event's id.
	Size   int64  `json:"size"`
	Text   string `json:"text,omitempty"`
	Base64 string `json:"base64,omitempty"`
}

// NewStampedLogChunk encodes the size log bytes found at offset as
// stamped, those bytes with each line's time at its head.
func NewStampedLogChunk(offset, size int64, stamped []byte) LogChunk {
	if utf8.Valid(stamped) {
		return LogChunk{Offset: offset, Size: size, Text: string(stamped)}
	}
	return LogChunk{Offset: offset, Size: size, Base64: base64.StdEncoding.EncodeToString(stamped)}
}

// Bytes returns the bytes the chunk carries: the log bytes, stamped when
// the stream was read with timestamps.
func (c LogChunk) Bytes() ([]byte, error) {
	if c.Base64 == "" {
		return []byte(c.Text), nil
	}
	b, err := base64.StdEncoding.DecodeString(c.Base64)
	if err != nil {
		return nil, fmt.Errorf("log chunk at offset %d: base64: %w", c.Offset, err)
	}
	return b, nil
}
