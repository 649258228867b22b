// Package s3test gives tests a real S3 server: the Versity S3 Gateway
// (versitygw, on PATH; .ci/run installs it) serving a temporary directory
// on 127.0.0.1. A test that needs it skips when versitygw is missing, and
// fails instead when CI=true: CI must run them.
package s3test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Server is one running gateway.
type Server struct {
	// Endpoint is its URL (http://127.0.0.1:PORT).
	Endpoint string
	// AccessKey and SecretKey sign requests to it.
	AccessKey, SecretKey string
	// Region is the region it answers for.
	Region string
	// Dir is the directory holding its buckets.
	Dir string
}

// Start starts versitygw on a temporary directory and stops it when the
// test ends; the buckets given are created.
func Start(t testing.TB, buckets ...string) *Server {
	t.Helper()
	bin, err := exec.LookPath("versitygw")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI needs versitygw on PATH for this test (.ci/run installs it): %v", err)
		}
		t.Skipf("no versitygw on PATH (go install github.com/versity/versitygw/cmd/versitygw@latest): %v", err)
	}
	s := &Server{AccessKey: "lathetest", SecretKey: "lathetest-secret-key", Region: "us-east-1", Dir: t.TempDir()}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// A free port, asked of the kernel; another process may take it
	// before the gateway does, so a failed start tries another.
	var lastErr error
	for try := 0; try < 5; try++ {
		port, err := freePort()
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		cmd := exec.Command(bin, "--access", s.AccessKey, "--secret", s.SecretKey, "--region", s.Region, "--quiet",
			"--port", "127.0.0.1:"+strconv.Itoa(port), "posix", s.Dir)
		cmd.Stdout, cmd.Stderr = &out, &out
		cmd.Env = append(os.Environ(), "ROOT_ACCESS_KEY=", "ROOT_SECRET_KEY=")
		if err := cmd.Start(); err != nil {
			t.Fatalf("start versitygw: %v", err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		s.Endpoint = "http://127.0.0.1:" + strconv.Itoa(port)
		if lastErr = s.waitReady(ctx, exited); lastErr == nil {
			t.Cleanup(func() {
				cmd.Process.Kill()
				<-exited
			})
			break
		}
		cmd.Process.Kill()
		<-exited
		lastErr = fmt.Errorf("%v: %s", lastErr, out.String())
	}
	if lastErr != nil {
		t.Fatalf("versitygw did not start: %v", lastErr)
	}
	c := s.Client(t)
	for _, b := range buckets {
		if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
			t.Fatalf("make bucket %s: %v", b, err)
		}
	}
	return s
}

// Client is a client of the server, for a test to look at the bucket.
func (s *Server) Client(t testing.TB) *s3.Client {
	t.Helper()
	creds := aws.Credentials{AccessKeyID: s.AccessKey, SecretAccessKey: s.SecretKey}
	return s3.New(s3.Options{Region: s.Region, BaseEndpoint: aws.String(s.Endpoint), UsePathStyle: true,
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) { return creds, nil })})
}

// waitReady waits, a bounded number of times, until the gateway accepts
// connections or exits.
func (s *Server) waitReady(ctx context.Context, exited <-chan error) error {
	addr := s.Endpoint[len("http://"):]
	for i := 0; i < 600; i++ {
		select {
		case err := <-exited:
			return fmt.Errorf("versitygw exited: %v", err)
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("versitygw does not accept connections at %s", addr)
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// Objects lists every object in bucket, as a test looks at what is stored.
func (s *Server) Objects(t testing.TB, bucket string) []string {
	t.Helper()
	var out []string
	pages := s3.NewListObjectsV2Paginator(s.Client(t), &s3.ListObjectsV2Input{Bucket: &bucket})
	for pages.HasMorePages() {
		page, err := pages.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range page.Contents {
			out = append(out, aws.ToString(o.Key))
		}
	}
	return out
}
