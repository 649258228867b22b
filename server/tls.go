package server

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"syscall"
)

// listening is the server's bound listener: plain HTTP, or HTTPS when
// the configuration names a certificate and key.
type listening struct {
	ln   net.Listener
	url  string            // the server's base URL
	cert *x509.Certificate // HTTPS's, nil for HTTP
}

// listen binds the listener. The server binds before it touches its data
// directory or database, so an address in use stops it with nothing made.
func listen(cfg Config) (*listening, error) {
	ln, err := net.Listen("tcp", cfg.Addr)
	if errors.Is(err, syscall.EADDRINUSE) {
		return nil, fmt.Errorf("listen: %s is in use: another program, perhaps a Lathe server, listens there (stop it, or give --addr another address)", cfg.Addr)
	}
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	if cfg.TLSCert == "" && cfg.TLSKey == "" {
		return &listening{ln: ln, url: "http://" + ln.Addr().String()}, nil
	}
	tcfg, err := serverTLS(cfg.TLSCert, cfg.TLSKey)
	if err != nil {
		ln.Close()
		return nil, err
	}
	return &listening{ln: tls.NewListener(ln, tcfg), url: "https://" + ln.Addr().String(), cert: tcfg.Certificates[0].Leaf}, nil
}

func serverTLS(certFile, keyFile string) (*tls.Config, error) {
	if certFile == "" || keyFile == "" {
		return nil, errors.New("TLS: give both --tls-cert and --tls-key")
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("TLS: %w", err)
	}
	if cert.Leaf == nil {
		if cert.Leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return nil, fmt.Errorf("TLS: %s: %w", certFile, err)
		}
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}

// agentTLS is how embedded agents verify their own server: they talk to it
// at 127.0.0.1, which its certificate may not name, so they accept exactly
// that certificate and no other.
func (s *Server) agentTLS() *tls.Config {
	if s.cert == nil {
		return nil
	}
	want := s.cert.Raw
	return &tls.Config{
		MinVersion:         tls.VersionTLS12,
		InsecureSkipVerify: true, // replaced by the exact check below
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 || !bytes.Equal(cs.PeerCertificates[0].Raw, want) {
				return errors.New("the server's certificate is not the one it was started with")
			}
			return nil
		},
	}
}
