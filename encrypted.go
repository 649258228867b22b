package lathe

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"strings"
)

// EncryptedPrefix starts the text form of a value sealed for a project
// (what `lathe encrypt` prints and a pipeline's {encrypted: …} holds).
const EncryptedPrefix = "lathe:v1:"

// The ways a text is not the form of a value sealed for a project, as
// DecodeEncrypted tells them apart.
var (
	ErrEncryptedPrefix = errors.New("it must start with " + `"` + EncryptedPrefix + `"`)
	ErrEncryptedBase64 = errors.New("bad base64")
	ErrEncryptedShort  = errors.New("too short")
)

// DecodeEncrypted reads the text form of a value sealed for a project,
//
//	lathe:v1:BASE64( len(wrapped) as 2 bytes big-endian || wrapped key || 12-byte nonce || GCM ciphertext and tag )
//
// and returns its raw bytes with whitespace removed from the base64 (YAML
// folding or a wrapped paste may leave spaces or newlines in a long value).
// It checks the shape only: whether the value opens is for the holder of the
// project's private key (secret.DecryptForProject) to tell. The error is one
// of ErrEncryptedPrefix, ErrEncryptedBase64 and ErrEncryptedShort.
func DecodeEncrypted(text string) ([]byte, error) {
	body, ok := strings.CutPrefix(strings.TrimSpace(text), EncryptedPrefix)
	if !ok {
		return nil, ErrEncryptedPrefix
	}
	raw, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(body), ""))
	if err != nil {
		return nil, ErrEncryptedBase64
	}
	if len(raw) < 2 || len(raw) < 2+int(binary.BigEndian.Uint16(raw))+12+16 {
		return nil, ErrEncryptedShort
	}
	return raw, nil
}
