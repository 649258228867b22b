package lathe

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
)

func TestDecodeEncrypted(t *testing.T) {
	// A body of the right shape: a 2-byte length, that many bytes of wrapped
	// key, a 12-byte nonce and a 16-byte tag.
	raw := binary.BigEndian.AppendUint16(nil, 4)
	raw = append(raw, make([]byte, 4+12+16)...)
	text := EncryptedPrefix + base64.StdEncoding.EncodeToString(raw)
	folded := "  " + EncryptedPrefix + text[len(EncryptedPrefix):10] + "\n    " + text[10:] + "\n"
	for _, c := range []struct {
		name, text string
		err        error
	}{
		{"as printed", text, nil},
		{"folded by YAML", folded, nil},
		{"no prefix", strings.TrimPrefix(text, EncryptedPrefix), ErrEncryptedPrefix},
		{"another version", "lathe:v2:" + text[len(EncryptedPrefix):], ErrEncryptedPrefix},
		{"not base64", EncryptedPrefix + "!!!!", ErrEncryptedBase64},
		{"cut off", text[:len(text)-8], ErrEncryptedShort},
		{"empty body", EncryptedPrefix, ErrEncryptedShort},
		{"a length past the end", EncryptedPrefix + base64.StdEncoding.EncodeToString([]byte{0xff, 0xff, 1, 2, 3}), ErrEncryptedShort},
	} {
		got, err := DecodeEncrypted(c.text)
		if !errors.Is(err, c.err) || err == nil && string(got) != string(raw) {
			t.Errorf("%s: DecodeEncrypted(%q) = %x, %v; want the body, %v", c.name, c.text, got, err, c.err)
		}
	}
}
