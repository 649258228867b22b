package server_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/cli"
	"github.com/lathe-ci/lathe/internal/lathetest"
)

// testCA writes a certificate authority and a server certificate it signed
// for 127.0.0.1 into dir, and returns the three PEM files' paths.
func testCA(t *testing.T, dir string) (caFile, certFile, keyFile string) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Lathe test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "lathe"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name, typ string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	return write("ca.pem", "CERTIFICATE", caDER), write("cert.pem", "CERTIFICATE", der), write("key.pem", "EC PRIVATE KEY", keyDER)
}

// With --tls-cert and --tls-key the server answers HTTPS only: its
// embedded agents, a `lathe agent` and the CLI given the CA with
// --ca-file all work, and a client that does not trust it is refused.
func TestServerOverHTTPS(t *testing.T) {
	bin := lathetest.Binary(t)
	caFile, certFile, keyFile := testCA(t, t.TempDir())
	l := lathetest.Start(t, lathetest.Options{Agents: 1, TLSCert: certFile, TLSKey: keyFile, CAFile: caFile})
	if !strings.HasPrefix(l.URL, "https://") {
		t.Fatalf("server URL %s; want https", l.URL)
	}
	l.Project(t, "tls", lathetest.Repo(t, map[string]string{".lathe.yml": `
jobs:
  embedded:
    runs-on: [embedded]
    steps: [echo on the embedded agent]
  remote:
    runs-on: [remote]
    steps: [echo on the remote agent]
`}))
	p := lathetest.StartProcess(t, bin, "agent", "--server", l.URL, "--ca-file", caFile, "--token", l.RegistrationToken(t),
		"--name", "remote", "--labels", "remote", "--work-dir", t.TempDir(), "--poll-wait", "2")
	run := l.Trigger(t, "tls", "", "")
	if r := l.Wait(t, run.ID, time.Minute); r.Status != lathe.StatusSuccess {
		t.Fatalf("run over https = %s; remote agent:\n%s", r.Status, p.Output.String())
	}

	lathecli := func(args ...string) (int, string) {
		var out bytes.Buffer
		env := &cli.Env{Stdout: &out, Stderr: &out, Getenv: func(string) string { return "" }}
		code := cli.Run(context.Background(), append(args, "--server", l.URL, "--token", l.AdminToken), env)
		return code, out.String()
	}
	if code, out := lathecli("runs", "--ca-file", caFile); code != 0 || !strings.Contains(out, "tls") {
		t.Errorf("lathe runs --ca-file = %d:\n%s", code, out)
	}
	if code, out := lathecli("runs"); code == 0 || !strings.Contains(out, "certificate") {
		t.Errorf("lathe runs without the CA = %d:\n%s; want a certificate error", code, out)
	}
	resp, err := http.Get("http://" + strings.TrimPrefix(l.URL, "https://") + "/api/v1/projects")
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Errorf("plain HTTP to the HTTPS port answered 200")
		}
	}
}

// The embedded agents' steps cannot read the server's TLS private key,
// wherever it is kept, however readable (here by everyone, outside the
// sandbox's private /tmp, as a key under /etc may be): it is hidden like
// the data directory and the secret key files.
func TestStepsCannotReadTheServersTLSKey(t *testing.T) {
	lathetest.NeedSandbox(t)
	dir := lathetest.PublicDir(t)
	caFile, certFile, keyFile := testCA(t, dir)
	for p, mode := range map[string]os.FileMode{dir: 0o755, keyFile: 0o644, certFile: 0o644} {
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
	}
	key, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	l := lathetest.Start(t, lathetest.Options{Agents: 1, TLSCert: certFile, TLSKey: keyFile, CAFile: caFile})
	l.Project(t, "tls", lathetest.Repo(t, map[string]string{".lathe.yml": fmt.Sprintf(`
jobs:
  attack:
    steps:
      - cat %q || true
      - cat %q
`, keyFile, certFile)}))
	r := l.Wait(t, l.Trigger(t, "tls", "", "").ID, time.Minute)
	log := l.Log(t, lathetest.JobByName(t, r, "attack").ID)
	if r.Status != lathe.StatusSuccess || !strings.Contains(log, "BEGIN CERTIFICATE") {
		t.Fatalf("run %s (the certificate, which is public, is readable); log:\n%s", r.Status, log)
	}
	if strings.Contains(log, "PRIVATE KEY") || strings.Contains(log, strings.Split(string(key), "\n")[1]) {
		t.Errorf("a step read the server's TLS key:\n%s", log)
	}
}
