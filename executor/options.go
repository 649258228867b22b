package executor

import (
	"fmt"
	"os"
	"os/user"
	"strconv"
	"strings"
	"time"
)

// Executor kinds an operator chooses from.
const (
	KindSandbox = "sandbox"
	KindShell   = "shell"
)

// Options choose and tune an agent's executor.
type Options struct {
	// Kind is KindSandbox (the default when empty) or KindShell.
	Kind string
	// JobUser is who steps run as when the agent runs as root: a user
	// name, or UID[:GID] (default "nobody").
	JobUser string
	// Network is "shared" (the default when empty) or "none".
	Network string
	// Hide lists host paths jobs must not see (the agent's work
	// directory, the server's data directory and key files).
	Hide  []string
	Grace time.Duration
	// ContainerHost is the container engine jobs with an image run on
	// (unix:///PATH); empty for none.
	ContainerHost string
}

// New returns the executor opts ask for, or why it cannot run here.
func New(opts Options) (Executor, error) {
	switch opts.Kind {
	case KindShell:
		return ShellExecutor{Grace: opts.Grace}, nil
	case "", KindSandbox:
	default:
		return nil, fmt.Errorf("executor %q: choose %s or %s", opts.Kind, KindSandbox, KindShell)
	}
	s := Sandbox{Hide: append([]string(nil), opts.Hide...), Grace: opts.Grace}
	switch opts.Network {
	case "", "shared":
	case "none":
		s.NoNetwork = true
	default:
		return nil, fmt.Errorf("job network %q: choose shared or none", opts.Network)
	}
	if os.Geteuid() == 0 {
		u, err := LookupUser(opts.JobUser)
		if err != nil {
			return nil, err
		}
		s.User = u
	}
	return NewSandbox(s)
}

// LookupUser resolves a job user given as a name or UID[:GID]; empty
// means "nobody" (65534 where the system has no such user).
func LookupUser(spec string) (*User, error) {
	if spec == "" {
		spec = "nobody"
	}
	if uidText, gidText, ok := strings.Cut(spec, ":"); ok || isNumber(spec) {
		uid, err := strconv.Atoi(uidText)
		if err != nil {
			return nil, fmt.Errorf("job user %q: want a name or UID[:GID]", spec)
		}
		gid := uid
		if ok {
			if gid, err = strconv.Atoi(gidText); err != nil {
				return nil, fmt.Errorf("job user %q: want a name or UID[:GID]", spec)
			}
		}
		return checkUser(spec, &User{Uid: uid, Gid: gid})
	}
	u, err := user.Lookup(spec)
	if err != nil {
		if spec == "nobody" {
			return &User{Uid: 65534, Gid: 65534}, nil
		}
		return nil, fmt.Errorf("job user: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return checkUser(spec, &User{Uid: uid, Gid: gid})
}

func checkUser(spec string, u *User) (*User, error) {
	if u.Uid <= 0 || u.Gid <= 0 {
		return nil, fmt.Errorf("job user %q: steps must not run as root (uid and gid 0); choose an unprivileged user", spec)
	}
	return u, nil
}

func isNumber(s string) bool {
	_, err := strconv.Atoi(s)
	return err == nil
}
