package agent

import (
	"fmt"
	"os"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/git"
)

// checkoutHold is how the checkout reaches the job's repository: for an
// SSH URL, with the assignment's private key, written to a private file
// (0600, in a 0700 temporary directory) outside the workspace and the
// job's directories, and the server's pinned host keys, accepting no
// other host key. done deletes the files: the caller calls it as soon as
// the checkout is through, before any step runs, and the steps' environment
// never names the key.
func checkoutHold(as *lathe.Assignment) (hold git.Hold, done func(), err error) {
	if !git.IsSSH(as.RepoURL) {
		return nil, func() {}, nil
	}
	if as.SSHKey == "" {
		if as.Untrusted {
			return nil, nil, fmt.Errorf("the repository's URL is an SSH URL, and this job gets no SSH key: " +
				"its run is untrusted (a fork's pull request), and such runs get no secrets")
		}
		return nil, func() {}, nil // an older server: ssh as the agent's user would
	}
	dir, ssh, err := git.WriteSSHFiles([]byte(as.SSHKey), as.SSHKnownHosts)
	if err != nil {
		return nil, nil, err
	}
	ssh.Strict = true
	return git.Hold(nil).WithSSH(ssh), func() {
		os.RemoveAll(dir)
		as.SSHKey = "" // nothing after the checkout needs it
	}, nil
}
