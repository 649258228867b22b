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
type LogChunk struct {
	Offset int64  `json:"offset"`
	Text   string `json:"text,omitempty"`
	Base64 string `json:"base64,omitempty"`
}

// NewLogChunk encodes the log bytes data found at offset.
func NewLogChunk(offset int64, data []byte) LogChunk {
	if utf8.Valid(data) {
		return LogChunk{Offset: offset, Text: string(data)}
	}
	return LogChunk{Offset: offset, Base64: base64.StdEncoding.EncodeToString(data)}
}

// Bytes returns the log bytes the chunk carries.
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
