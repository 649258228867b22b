package api

import (
	"net/http"
	"runtime"
	"runtime/debug"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/forge"
)

// info is what GET /api/v1/info says about the server (Zuul's /api/info,
// Kraken's version): public, so it holds nothing secret and no paths.
type info struct {
	Version string `json:"version"`
	// Commit is the commit the binary was built from ("" when the build
	// did not record it), with "-dirty" when the tree had changes.
	Commit    string   `json:"commit"`
	GoVersion string   `json:"go_version"`
	Database  string   `json:"database"`
	Features  Features `json:"features"`
	// Auth lists how callers prove who they are.
	Auth []string `json:"auth"`
}

// Features are what this server can do beyond the core, as GET
// /api/v1/info shows them. The composition root sets what it alone knows
// (see SetFeatures); the API fills in the rest.
type Features struct {
	// Executor is how the embedded agents run steps (sandbox, shell), ""
	// without embedded agents.
	Executor string `json:"executor"`
	// ContainerEngine names the container engine the embedded agents run
	// jobs with an image on (docker, podman), "" for none.
	ContainerEngine string `json:"container_engine"`
	// ContainerExecutor says whether the embedded agents run jobs with an
	// image.
	ContainerExecutor bool `json:"container_executor"`
	// EmbeddedAgents is how many agents run inside the server.
	EmbeddedAgents int `json:"embedded_agents"`
	// Secrets says whether the server has a secret key (stored secrets
	// work).
	Secrets bool `json:"secrets"`
	// Forges are the forge kinds the server talks to (hooks, statuses).
	Forges []string `json:"forges"`
}

// SetFeatures tells the server what it can do beyond the core, for GET
// /api/v1/info. Call it before serving.
func (s *Server) SetFeatures(f Features) { s.features = f }

// getInfo serves the server's version and settings.
func (s *Server) getInfo(w http.ResponseWriter, r *http.Request) error {
	f := s.features
	f.ContainerExecutor = f.ContainerEngine != ""
	f.Secrets = s.keys != nil
	f.Forges = make([]string, len(forge.Kinds))
	for i, k := range forge.Kinds {
		f.Forges[i] = string(k)
	}
	writeJSON(w, http.StatusOK, info{Version: lathe.Version, Commit: buildCommit(), GoVersion: runtime.Version(),
		Database: s.store.Engine(), Features: f, Auth: []string{"token", "password"}})
	return nil
}

// buildCommit is the VCS revision Go recorded in the binary.
func buildCommit() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	var rev, dirty string
	for _, kv := range bi.Settings {
		switch {
		case kv.Key == "vcs.revision":
			rev = kv.Value
		case kv.Key == "vcs.modified" && kv.Value == "true":
			dirty = "-dirty"
		}
	}
	if rev == "" {
		return ""
	}
	return rev + dirty
}
