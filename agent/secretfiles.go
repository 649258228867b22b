package agent

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"

	lathe "github.com/lathe-ci/lathe"
)

// secretFiles writes the job's file secrets (Assignment.SecretFiles), one
// file each named after the secret, mode 0600, in a directory of the job's
// control directory: outside the workspace (so no step can commit, upload
// or archive it by accident), readable only by the steps' user once the
// executor owns it to them, and removed with the job's directories. It
// returns the assignment as the steps' environment sees it, each file
// secret's value replaced by its file's path, and the directory ("" when
// the job has no file secret).
func secretFiles(as *lathe.Assignment, control string) (*lathe.Assignment, string, error) {
	if len(as.SecretFiles) == 0 {
		return as, "", nil
	}
	dir := filepath.Join(control, "secrets")
	if err := os.Mkdir(dir, 0o700); err != nil {
		return nil, "", fmt.Errorf("secret files: %w", err)
	}
	env := *as
	env.Secrets = make([]lathe.EnvVar, len(as.Secrets))
	for i, v := range as.Secrets {
		env.Secrets[i] = v
		if !slices.Contains(as.SecretFiles, v.Name) {
			continue
		}
		// The name is a secret name ([A-Z_][A-Z0-9_]*), checked by the
		// server: it cannot leave the directory.
		path := filepath.Join(dir, v.Name)
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, "", fmt.Errorf("secret file %s: %w", v.Name, err)
		}
		_, err = f.WriteString(v.Value)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, "", fmt.Errorf("secret file %s: %w", v.Name, err)
		}
		env.Secrets[i].Value = path
	}
	return &env, dir, nil
}
