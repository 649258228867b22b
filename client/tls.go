package client

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
)

// SetTLS makes the client verify the server's certificate with cfg.
func (c *Client) SetTLS(cfg *tls.Config) {
	if c.servers != nil {
		c.servers.setTLS(func(t *http.Transport) { t.TLSClientConfig = cfg })
		return
	}
	if t, ok := c.HTTP.Transport.(*http.Transport); ok {
		t.TLSClientConfig = cfg
	}
}

// UseCA makes the client trust the certificate authorities in the PEM file
// path (and only those) for an https server, as `--ca-file` asks.
func (c *Client) UseCA(path string) error {
	cfg, err := CAConfig(path)
	if err != nil {
		return err
	}
	c.SetTLS(cfg)
	return nil
}

// CAConfig returns a TLS configuration that trusts the certificates in the
// PEM file path.
func CAConfig(path string) (*tls.Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("CA file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("CA file %s: no PEM certificate in it", path)
	}
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, nil
}
