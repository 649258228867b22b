package agent

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/client"
	"github.com/lathe-ci/lathe/internal/retry"
)

// CredentialFile is where, in its work directory, an agent keeps the
// credential the server gave it at registration (mode 0600).
const CredentialFile = "agent.token"

// Registration is what an agent needs to register with a server.
type Registration struct {
	// Server is the server's URL, or several replicas' separated by
	// commas (see client.NewServers).
	Server string
	// Token is the registration token an admin created.
	Token  string
	Name   string
	Labels []string
	Host   lathe.HostInfo
	// TLS, when set, says how to verify an https server.
	TLS *tls.Config
}

// registerTimeout bounds one registration request.
const registerTimeout = 30 * time.Second

// Credential returns the agent credential stored in workDir. When there is
// none it registers with the server (retrying, with backoff, while the server
// is unreachable) and stores the credential it gets, with the name and
// labels the server registered (see Registered), so a restarted agent
// reuses it and does not register again.
func Credential(ctx context.Context, workDir string, reg Registration, log *slog.Logger) (string, error) {
	path := filepath.Join(workDir, CredentialFile)
	if b, err := os.ReadFile(path); err == nil {
		if cred := strings.TrimSpace(string(b)); cred != "" {
			return cred, nil
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("read agent credential: %w", err)
	}
	if reg.Token == "" {
		return "", fmt.Errorf("no credential in %s: register with --token REGISTRATION_TOKEN (an admin creates one with `lathe agents tokens create`)", path)
	}
	c, err := client.NewServers(ctx, []string{reg.Server}, reg.Token, nil)
	if err != nil {
		return "", err
	}
	if reg.TLS != nil {
		c.SetTLS(reg.TLS)
	}
	in := map[string]any{"name": reg.Name, "labels": reg.Labels, "host": reg.Host}
	var out struct {
		Agent lathe.Agent `json:"agent"`
		Token string      `json:"token"`
	}
	err = retry.Do(ctx, retry.Policy{
		Backoff: retry.Backoff{Base: 200 * time.Millisecond, Cap: 10 * time.Second},
		Retryable: func(err error) bool {
			st := client.StatusOf(err)
			return st == 0 || st >= 500
		},
		OnRetry: func(err error, wait time.Duration) {
			log.Warn("cannot register yet; retrying", "agent", reg.Name, "in", wait, "err", err)
		},
	}, func() error {
		// A registration sent is seen through even when the agent is being
		// stopped: the server may have registered the agent already, and
		// its answer holds the only copy of the credential.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), registerTimeout)
		defer cancel()
		return c.Do(rctx, http.MethodPost, "/api/v1/agent/register", in, &out)
	})
	if err != nil && ctx.Err() != nil {
		return "", ctx.Err()
	}
	if err != nil {
		return "", fmt.Errorf("register agent %q: %w", reg.Name, err)
	}
	if err := os.MkdirAll(workDir, 0o700); err != nil {
		return "", err
	}
	// The identity goes first: a credential stored without it would be
	// taken for one of an agent registered before identities were kept.
	if err := storeIdentity(workDir, Identity{ID: out.Agent.ID, Name: out.Agent.Name, Labels: out.Agent.Labels}); err != nil {
		return "", err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(out.Token+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("store agent credential: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return "", fmt.Errorf("store agent credential: %w", err)
	}
	log.Info("registered", "agent", out.Agent.Name, "agent_id", out.Agent.ID, "credential", path)
	if !out.Agent.Authorized {
		log.Warn("this agent gets no work until an admin authorizes it", "agent", out.Agent.Name,
			"command", "lathe agents update "+out.Agent.Name+" --authorized=true")
	}
	return out.Token, nil
}

// SendHostInfo makes every claim the client sends carry the host info, so
// the server's view of the agent's machine stays current.
func SendHostInfo(c *client.Client, h lathe.HostInfo) {
	b, _ := json.Marshal(h)
	base := c.HTTP.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	c.HTTP.Transport = hostTransport{base: base, value: string(b)}
}

type hostTransport struct {
	base  http.RoundTripper
	value string
}

func (t hostTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if !strings.HasSuffix(r.URL.Path, "/agent/claim") {
		return t.base.RoundTrip(r)
	}
	r = r.Clone(r.Context())
	r.Header.Set(lathe.AgentHostHeader, t.value)
	return t.base.RoundTrip(r)
}
