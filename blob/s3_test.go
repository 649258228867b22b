package blob

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/lathe-ci/lathe/internal/s3test"
)

func TestParseS3URL(t *testing.T) {
	for in, want := range map[string][2]string{
		"s3://lathe":                {"lathe", ""},
		"s3://lathe/":               {"lathe", ""},
		"s3://lathe/ci/prod":        {"lathe", "ci/prod"},
		"s3://lathe/ci/prod/":       {"lathe", "ci/prod"},
		"s3://my.bucket-1/a_b/c.d/": {"my.bucket-1", "a_b/c.d"},
	} {
		b, p, err := ParseS3URL(in)
		if err != nil || b != want[0] || p != want[1] {
			t.Errorf("%s: %q %q %v, want %q", in, b, p, err, want)
		}
	}
	for _, in := range []string{"", "lathe", "/data", "s3://", "s3:///x", "http://lathe/x", "s3://lathe/../x", "s3://lathe/a b", "s3://k:s@lathe", "s3://lathe?region=x"} {
		if _, _, err := ParseS3URL(in); err == nil || !strings.Contains(err.Error(), "s3://") && !strings.Contains(err.Error(), "prefix") {
			t.Errorf("%q: %v, want an error saying the form", in, err)
		}
	}
}

// Two stores on one bucket, as two replicas of a server open it, see each
// other's objects; the server's sub-stores and the prefix keep apart what
// is apart; a bucket that is not there, or wrong keys, are named at start.
func TestS3SharedBucket(t *testing.T) {
	srv := s3test.Start(t, "lathe")
	ctx := t.Context()
	opts := S3Options{Bucket: "lathe", Prefix: "ci", Endpoint: srv.Endpoint, Region: srv.Region, AccessKey: srv.AccessKey, SecretKey: srv.SecretKey}
	a, err := NewS3(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	// The second replica finds its credentials in the environment.
	t.Setenv("AWS_ACCESS_KEY_ID", srv.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", srv.SecretKey)
	envOpts := opts
	envOpts.AccessKey, envOpts.SecretKey = "", ""
	b, err := NewS3(ctx, envOpts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Sub("artifacts").Put(ctx, "5/x", strings.NewReader("from a"), Want{Size: 6}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Sub("caches").Put(ctx, "5/y", strings.NewReader("cache"), Want{Size: -1}); err != nil {
		t.Fatal(err)
	}
	if got := get(t, b.Sub("artifacts"), "5/x", 0, -1); got != "from a" {
		t.Errorf("replica b reads %q", got)
	}
	if keys, err := b.Sub("artifacts").List(ctx, ""); err != nil || !slices.Equal(keys, []string{"5/x"}) {
		t.Errorf("replica b lists the artifacts: %q, %v", keys, err)
	}
	if got := srv.Objects(t, "lathe"); !slices.Equal(got, []string{"ci/artifacts/5/x", "ci/caches/5/y"}) {
		t.Errorf("objects in the bucket: %q", got)
	}
	if err := a.RemoveUnfinished(); err != nil {
		t.Errorf("remove unfinished: %v", err)
	}
	// With no region given, the store is asked where the bucket is.
	t.Setenv("AWS_REGION", "")
	anyRegion := opts
	anyRegion.Region = ""
	if c, err := NewS3(ctx, anyRegion); err != nil {
		t.Errorf("no region: %v", err)
	} else if got := get(t, c.Sub("artifacts"), "5/x", 0, -1); got != "from a" {
		t.Errorf("with the store's region, reads %q", got)
	}

	missing := opts
	missing.Bucket = "absent"
	if _, err := NewS3(ctx, missing); err == nil || !strings.Contains(err.Error(), `"absent"`) {
		t.Errorf("absent bucket: %v", err)
	}
	wrong := opts
	wrong.SecretKey = "not-the-secret"
	if _, err := NewS3(ctx, wrong); err == nil {
		t.Error("a wrong secret key was accepted")
	}
	half := opts
	half.SecretKey = ""
	if _, err := NewS3(ctx, half); err == nil || !strings.Contains(err.Error(), "secret key") {
		t.Errorf("access key alone: %v", err)
	}
}

// An upload larger than a part goes in parts: the object is whole once
// the last part is in, and an upload whose content proves wrong in its
// last part is aborted, leaving the key's old object and no parts behind.
func TestS3PutInParts(t *testing.T) {
	srv := s3test.Start(t, "lathe")
	ctx := t.Context()
	s, err := NewS3(ctx, S3Options{Bucket: "lathe", Endpoint: srv.Endpoint, Region: srv.Region, AccessKey: srv.AccessKey, SecretKey: srv.SecretKey})
	if err != nil {
		t.Fatal(err)
	}
	s.partSize = 5 << 20 // the least S3 accepts for a part but the last
	body := make([]byte, 2*s.partSize+12345)
	for i := range body {
		body[i] = byte(i * 7 / 5)
	}
	for _, want := range []Want{{Size: -1}, {Size: int64(len(body)), SHA256: sum(body)}, {Size: 2 * s.partSize}} {
		n := int64(len(body))
		if want.Size >= 0 {
			n = want.Size // the last: exactly two parts, and a size that says so
		}
		info, err := s.Put(ctx, "1/big", bytes.NewReader(body[:n]), want)
		if err != nil || info != (Info{Size: n, SHA256: sum(body[:n])}) {
			t.Fatalf("put %+v: %+v, %v", want, info, err)
		}
		if got := get(t, s, "1/big", 0, -1); got != string(body[:n]) {
			t.Fatalf("put %+v: read back %d bytes, want %d", want, len(got), n)
		}
	}
	if got := get(t, s, "1/big", s.partSize-2, 4); got != string(body[s.partSize-2:s.partSize+2]) {
		t.Errorf("a range across parts: %q", got)
	}
	for name, want := range map[string]Want{
		"sha":   {Size: -1, SHA256: sum([]byte("other"))},
		"long":  {Size: 2*s.partSize + 1},
		"short": {Size: int64(len(body)) + 1},
	} {
		if _, err := s.Put(ctx, "1/big", bytes.NewReader(body), want); !errors.Is(err, ErrMismatch) {
			t.Errorf("%s: %v, want a mismatch", name, err)
		}
	}
	if got := get(t, s, "1/big", 0, -1); got != string(body[:2*s.partSize]) {
		t.Errorf("after refused uploads the object has %d bytes, want the last stored %d", len(got), 2*s.partSize)
	}
	ups, err := srv.Client(t).ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String("lathe")})
	if err != nil || len(ups.Uploads) != 0 {
		t.Errorf("unfinished uploads left: %v, %v", ups, err)
	}
}
