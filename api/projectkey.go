package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/secret"
)

// Each project has an RSA key pair (Zuul's project key), made on first
// use. Its public key is served so that anyone may seal a value for the
// project (`lathe encrypt`) and keep it in the pipeline file; only the
// server, holding the private key sealed with its keyring, opens it.

func (s *Server) getProjectKey(w http.ResponseWriter, r *http.Request) error {
	if s.keys == nil {
		return problemf(http.StatusServiceUnavailable, "project keys are not available: this server has no secret key")
	}
	p := projectOf(r)
	pem, err := s.projectPublicKey(r.Context(), p.ID)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/x-pem-file")
	w.Write([]byte(pem))
	return nil
}

// projectPublicKey returns the project's public key in PEM, making the key
// pair first if the project has none.
func (s *Server) projectPublicKey(ctx context.Context, projectID int64) (string, error) {
	pem, err := s.store.ProjectPublicKey(ctx, projectID)
	if !errors.Is(err, lathe.ErrNotFound) {
		return pem, err
	}
	// One key generation at a time: a burst of first requests costs one
	// key's CPU, not one per request.
	s.keyGen.Lock()
	defer s.keyGen.Unlock()
	if pem, err := s.store.ProjectPublicKey(ctx, projectID); !errors.Is(err, lathe.ErrNotFound) {
		return pem, err
	}
	priv, err := secret.GenerateProjectKey()
	if err != nil {
		return "", fmt.Errorf("make project key: %w", err)
	}
	der, err := secret.MarshalPrivateKey(priv)
	if err != nil {
		return "", fmt.Errorf("make project key: %w", err)
	}
	if err := s.store.AddProjectKey(ctx, s.keys, projectID, string(secret.PublicKeyPEM(&priv.PublicKey)), der); err != nil {
		return "", err
	}
	// Another server replica may have stored its key first: read what won.
	return s.store.ProjectPublicKey(ctx, projectID)
}
