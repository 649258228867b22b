package server

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
)

// listen binds the listener: plain HTTP, or HTTPS when the configuration
// names a certificate and key. It returns the server's base URL.
func (s *Server) listen() (string, error) {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return "", fmt.Errorf("listen: %w", err)
	}
	if s.cfg.TLSCert == "" && s.cfg.TLSKey == "" {
		s.ln = ln
		return "http://" + ln.Addr().String(), nil
	}
	cfg, err := serverTLS(s.cfg.TLSCert, s.cfg.TLSKey)
	if err != nil {
		ln.Close()
		return "", err
	}
	s.ln = tls.NewListener(ln, cfg)
	s.cert = cfg.Certificates[0].Leaf
	return "https://" + ln.Addr().String(), nil
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
