package git

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// SSH is how git reaches a repository over SSH for one project: with one
// private key only (no agent, no key of the user's), never asking for a
// password or passphrase, and meeting the host keys of a known_hosts file
// of its own (never the user's or the system's).
type SSH struct {
	// KeyFile is the private key's file (mode 0600).
	KeyFile string
	// KnownHosts is the known_hosts file.
	KnownHosts string
	// Strict accepts only the host keys KnownHosts holds. Otherwise a host
	// not in it is accepted and its key added to it (accept-new), and a
	// host in it with another key is still refused.
	Strict bool
}

// IsSSH reports whether url names a repository reached over SSH:
// ssh://…, git+ssh://…, ssh+git://… or scp-like user@host:path.
func IsSSH(url string) bool {
	r, err := ParseRemote(url)
	if err != nil || r.Local {
		return false
	}
	switch r.Scheme {
	case "ssh", "git+ssh", "ssh+git":
		return true
	}
	return false
}

// Command is the ssh command line git runs (GIT_SSH_COMMAND).
func (s SSH) Command() string {
	check := "accept-new"
	if s.Strict {
		check = "yes"
	}
	return "ssh -i " + shellQuote(s.KeyFile) + " -o IdentitiesOnly=yes -o BatchMode=yes -o IdentityAgent=none" +
		" -o UserKnownHostsFile=" + shellQuote(s.KnownHosts) + " -o GlobalKnownHostsFile=/dev/null" +
		" -o StrictHostKeyChecking=" + check + " -o UpdateHostKeys=no -o HashKnownHosts=no"
}

// WithSSH returns the hold with git's contact over SSH made as s says.
// git gets the command in GIT_SSH_COMMAND (see run), which wins over any
// core.sshCommand or GIT_SSH_COMMAND of the environment.
func (h Hold) WithSSH(s SSH) Hold {
	return append(append(Hold(nil), h...), "-c", sshCommandKey+"="+s.Command())
}

const sshCommandKey = "core.sshCommand"

// sshEnv returns GIT_SSH_COMMAND for the sshCommand a hold put in args
// (nil when none did).
func sshEnv(args []string) []string {
	for i := 0; i+1 < len(args) && args[i] == "-c"; i += 2 {
		if cmd, ok := strings.CutPrefix(args[i+1], sshCommandKey+"="); ok {
			return []string{"GIT_SSH_COMMAND=" + cmd, "GIT_SSH=", "GIT_SSH_VARIANT=ssh"}
		}
	}
	return nil
}

// shellQuote quotes s for sh, which runs GIT_SSH_COMMAND.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// WriteSSHFiles writes a private key and known_hosts lines into a new
// private temporary directory (mode 0700, files 0600) and returns it with
// the SSH that uses them (accept-new: see SSH.Strict). The caller
// removes the directory.
func WriteSSHFiles(key []byte, knownHosts string) (string, SSH, error) {
	dir, err := os.MkdirTemp("", "lathe-ssh-")
	if err != nil {
		return "", SSH{}, fmt.Errorf("SSH key file: %w", err)
	}
	ssh := SSH{KeyFile: filepath.Join(dir, "id"), KnownHosts: filepath.Join(dir, "known_hosts")}
	for path, b := range map[string][]byte{ssh.KeyFile: key, ssh.KnownHosts: []byte(knownHosts)} {
		if err := os.WriteFile(path, b, 0o600); err != nil {
			os.RemoveAll(dir)
			return "", SSH{}, fmt.Errorf("SSH key file: %w", err)
		}
	}
	return dir, ssh, nil
}
