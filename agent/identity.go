package agent

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// IdentityFile is where, in its work directory, an agent keeps the name
// and labels the server registered it with, beside its credential.
const IdentityFile = "agent.json"

// Identity is an agent as the server registered it. A restarted agent
// runs under this name whatever --name says: its containers are labelled
// with it, and an earlier life's are found by it (see
// removeLeftoverContainers). The server routes jobs by these labels.
//
// The agent protocol has no way for an agent to read its record, nor to
// change its name or labels: only an admin does (`lathe agents update`).
// So the identity is what the server answered at registration.
type Identity struct {
	ID     int64    `json:"id"`
	Name   string   `json:"name"`
	Labels []string `json:"labels"`
}

// Registered returns the identity stored in workDir (ok false when there
// is none: an agent registered by a Lathe that did not store it). asked
// is what this start asks for: a name or labels set there that differ
// from the registered ones are warned about, loudly, and not used; leave
// a field empty when it was not asked for (a default).
func Registered(workDir string, asked Registration, log *slog.Logger) (id Identity, ok bool, err error) {
	b, err := os.ReadFile(filepath.Join(workDir, IdentityFile))
	if errors.Is(err, os.ErrNotExist) {
		return id, false, nil
	}
	if err == nil {
		err = json.Unmarshal(b, &id)
	}
	if err == nil && id.Name == "" {
		err = errors.New("no name in it")
	}
	if err != nil {
		return id, false, fmt.Errorf("read the agent's registered identity %s: %w", filepath.Join(workDir, IdentityFile), err)
	}
	if asked.Name != "" && asked.Name != id.Name {
		log.Warn("THIS AGENT IS REGISTERED UNDER ANOTHER NAME: it runs as "+id.Name+", the name the server knows; an agent cannot rename itself",
			"registered", id.Name, "asked", asked.Name,
			"rename", "lathe agents update "+id.Name+" --name "+asked.Name+", then start it with --name "+asked.Name)
	}
	if asked.Labels != nil && !sameLabels(asked.Labels, id.Labels) {
		log.Warn("THE SERVER DOES NOT HAVE THESE LABELS: it routes jobs to this agent by the labels it registered with; an agent cannot change its own labels",
			"agent", id.Name, "registered", id.Labels, "asked", asked.Labels,
			"change", "lathe agents update "+id.Name+" --labels "+strings.Join(asked.Labels, ","))
	}
	return id, true, nil
}

// storeIdentity keeps the identity the server answered a registration with.
func storeIdentity(workDir string, id Identity) error {
	b, err := json.Marshal(id)
	if err != nil {
		return err
	}
	path := filepath.Join(workDir, IdentityFile)
	if err := os.WriteFile(path+".tmp", append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("store the agent's identity: %w", err)
	}
	if err := os.Rename(path+".tmp", path); err != nil {
		return fmt.Errorf("store the agent's identity: %w", err)
	}
	return nil
}

// sameLabels reports whether a and b hold the same labels, in any order.
func sameLabels(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(slices.Compact(a), slices.Compact(b))
}
