package blob

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// S3 is a Store in a bucket of an S3-compatible object store (AWS S3,
// MinIO, Ceph, the Versity gateway…): the object of key a/b is
// Prefix+"a/b". Several servers may share one: what one stores another
// reads. Put streams the content and checks its size and SHA-256 as the
// last bytes go out; content that is not what it was told makes the
// upload fail before the store completes it, so the key keeps what it had.
type S3 struct {
	client *minio.Client
	bucket string
	// prefix ends with "/" unless empty.
	prefix string
}

// S3Options say where a bucket is and who may use it.
type S3Options struct {
	// Bucket and Prefix come from s3://BUCKET/PREFIX (ParseS3URL).
	Bucket string
	Prefix string
	// Endpoint is the store's URL, http:// or https:// (empty: AWS S3).
	Endpoint string
	// Region (empty: AWS_REGION, or what the store answers).
	Region string
	// AccessKey and SecretKey (and SessionToken) sign requests; empty:
	// AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN
	// (or MINIO_ACCESS_KEY, MINIO_SECRET_KEY) from the environment.
	AccessKey, SecretKey, SessionToken string
}

// partSize is the size of the parts of an upload of unknown or large size:
// the memory one upload holds.
const partSize = 16 << 20

// ParseS3URL splits s3://BUCKET/PREFIX.
func ParseS3URL(s string) (bucket, prefix string, err error) {
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "s3" || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", "", fmt.Errorf("blob store %q: want s3://BUCKET or s3://BUCKET/PREFIX", s)
	}
	prefix = strings.Trim(u.Path, "/")
	if prefix != "" {
		if err := CheckKey(prefix); err != nil {
			return "", "", fmt.Errorf("blob store %q: the prefix must be segments of letters, digits, '.', '_' and '-': %w", s, err)
		}
	}
	return u.Host, prefix, nil
}

// NewS3 returns the Store in the bucket o names, checking that the bucket
// answers and exists.
func NewS3(ctx context.Context, o S3Options) (*S3, error) {
	if o.Bucket == "" {
		return nil, errors.New("blob store: no bucket")
	}
	host, secure := "s3.amazonaws.com", true
	if o.Endpoint != "" {
		u, err := url.Parse(o.Endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
			return nil, fmt.Errorf("blob store endpoint %q: want http://HOST[:PORT] or https://HOST[:PORT]", o.Endpoint)
		}
		host, secure = u.Host, u.Scheme == "https"
	}
	var creds *credentials.Credentials
	if o.AccessKey != "" || o.SecretKey != "" {
		if o.AccessKey == "" || o.SecretKey == "" {
			return nil, errors.New("blob store: an access key needs its secret key, and a secret key its access key")
		}
		creds = credentials.NewStaticV4(o.AccessKey, o.SecretKey, o.SessionToken)
	} else {
		creds = credentials.NewChainCredentials([]credentials.Provider{&credentials.EnvAWS{}, &credentials.EnvMinio{}})
	}
	c, err := minio.New(host, &minio.Options{Creds: creds, Secure: secure, Region: o.Region})
	if err != nil {
		return nil, fmt.Errorf("blob store %s: %w", host, err)
	}
	ok, err := c.BucketExists(ctx, o.Bucket)
	if err != nil {
		return nil, fmt.Errorf("blob store: bucket %q at %s: %w", o.Bucket, host, err)
	}
	if !ok {
		return nil, fmt.Errorf("blob store: bucket %q at %s does not exist (create it first)", o.Bucket, host)
	}
	s := &S3{client: c, bucket: o.Bucket}
	return s.Sub(o.Prefix), nil
}

// Sub returns the Store of the keys under prefix (a key's segments) in
// the same bucket: the server keeps uploads, artifacts, caches and tools
// apart this way.
func (s *S3) Sub(prefix string) *S3 {
	prefix = strings.Trim(prefix, "/")
	if prefix == "" {
		return &S3{client: s.client, bucket: s.bucket, prefix: s.prefix}
	}
	return &S3{client: s.client, bucket: s.bucket, prefix: s.prefix + prefix + "/"}
}

// object is the bucket's name of key (checked like Dir checks it, so keys
// move between the two).
func (s *S3) object(key string) (string, error) {
	if err := CheckKey(key); err != nil {
		return "", err
	}
	if first, _, _ := strings.Cut(key, "/"); first == tmpDir {
		return "", fmt.Errorf("%w: %q", ErrKey, key)
	}
	return s.prefix + key, nil
}

// Put implements Store.
func (s *S3) Put(ctx context.Context, key string, r io.Reader, want Want) (Info, error) {
	name, err := s.object(key)
	if err != nil {
		return Info{}, err
	}
	v := &verifier{r: contextReader{ctx, r}, want: want, h: sha256.New()}
	size := int64(-1)
	switch {
	case want.Size == 0:
		// Nothing would be read: look for a byte too many now.
		if err := v.finish(); err != nil {
			return Info{}, fmt.Errorf("blob %s: %w", key, err)
		}
		size = 0
	case want.Size > 0:
		size = want.Size
	}
	_, err = s.client.PutObject(ctx, s.bucket, name, v, size, minio.PutObjectOptions{PartSize: partSize, ContentType: "application/octet-stream"})
	if v.err != nil {
		return Info{}, fmt.Errorf("blob %s: %w", key, v.err)
	}
	if err != nil {
		return Info{}, fmt.Errorf("blob %s: %w", key, err)
	}
	if !v.done {
		// The client stopped reading without an error: never store what
		// was not checked.
		s.client.RemoveObject(context.WithoutCancel(ctx), s.bucket, name, minio.RemoveObjectOptions{})
		return Info{}, fmt.Errorf("blob %s: the upload ended before the content was checked", key)
	}
	return Info{Size: v.n, SHA256: hex.EncodeToString(v.h.Sum(nil))}, nil
}

// verifier hashes what is read through it and, at the end of the content
// (EOF, or want.Size bytes), answers an error in place of the last read's
// success when the content is not what want says, so the upload carrying
// it fails.
type verifier struct {
	r    io.Reader
	want Want
	h    hash.Hash
	n    int64
	done bool
	// err is the error returned (the reader's own or a mismatch).
	err error
}

func (v *verifier) Read(p []byte) (int, error) {
	if v.err != nil {
		return 0, v.err
	}
	if v.done {
		return 0, io.EOF
	}
	n, err := v.r.Read(p)
	v.h.Write(p[:n])
	v.n += int64(n)
	switch {
	case err == io.EOF:
		if ferr := v.check(); ferr != nil {
			return n, ferr
		}
		return n, io.EOF
	case err != nil:
		v.err = err
		return n, err
	case v.want.Size >= 0 && v.n >= v.want.Size:
		// The client reads no further than the size it was told: look
		// for a byte too many, and check, now.
		if ferr := v.finish(); ferr != nil {
			return n, ferr
		}
	}
	return n, nil
}

// finish reads what is left (it must be nothing more than want.Size
// allows) and checks.
func (v *verifier) finish() error {
	var one [1]byte
	for {
		n, err := v.r.Read(one[:])
		v.h.Write(one[:n])
		v.n += int64(n)
		if v.want.Size >= 0 && v.n > v.want.Size {
			v.err = fmt.Errorf("more than %d bytes: %w", v.want.Size, ErrMismatch)
			return v.err
		}
		if err == io.EOF {
			return v.check()
		}
		if err != nil {
			v.err = err
			return err
		}
	}
}

// check compares the whole content with want.
func (v *verifier) check() error {
	if v.want.Size >= 0 && v.n != v.want.Size {
		v.err = fmt.Errorf("%d bytes, want %d: %w", v.n, v.want.Size, ErrMismatch)
		return v.err
	}
	if sum := hex.EncodeToString(v.h.Sum(nil)); v.want.SHA256 != "" && sum != v.want.SHA256 {
		v.err = fmt.Errorf("SHA-256 %s, want %s: %w", sum, v.want.SHA256, ErrMismatch)
		return v.err
	}
	v.done = true
	return nil
}

// Get implements Store.
func (s *S3) Get(ctx context.Context, key string, off, length int64) (io.ReadCloser, error) {
	name, err := s.object(key)
	if err != nil {
		return nil, err
	}
	if off < 0 {
		return nil, fmt.Errorf("blob %s: negative offset %d", key, off)
	}
	if length == 0 {
		if _, err := s.client.StatObject(ctx, s.bucket, name, minio.StatObjectOptions{}); err != nil {
			return nil, s.fail(key, err)
		}
		return io.NopCloser(bytes.NewReader(nil)), nil
	}
	var opts minio.GetObjectOptions
	switch {
	case length > 0:
		err = opts.SetRange(off, off+length-1)
	case off > 0:
		err = opts.SetRange(off, 0)
	}
	if err != nil {
		return nil, fmt.Errorf("blob %s: %w", key, err)
	}
	body, _, _, err := minio.Core{Client: s.client}.GetObject(ctx, s.bucket, name, opts)
	if err != nil {
		if minio.ToErrorResponse(err).Code == "InvalidRange" {
			// The object is there, shorter than off.
			return io.NopCloser(bytes.NewReader(nil)), nil
		}
		return nil, s.fail(key, err)
	}
	return body, nil
}

// fail wraps a store's error, a missing object as fs.ErrNotExist.
func (s *S3) fail(key string, err error) error {
	resp := minio.ToErrorResponse(err)
	if resp.Code == "NoSuchKey" || resp.StatusCode == http.StatusNotFound && resp.Code != "NoSuchBucket" {
		return fmt.Errorf("blob %s: %w", key, fs.ErrNotExist)
	}
	return fmt.Errorf("blob %s: %w", key, err)
}

// Delete implements Store.
func (s *S3) Delete(ctx context.Context, key string) error {
	name, err := s.object(key)
	if err != nil {
		return err
	}
	if err := s.client.RemoveObject(ctx, s.bucket, name, minio.RemoveObjectOptions{}); err != nil && minio.ToErrorResponse(err).Code != "NoSuchKey" {
		return fmt.Errorf("blob %s: %w", key, err)
	}
	return nil
}

// List implements Store.
func (s *S3) List(ctx context.Context, prefix string) ([]string, error) {
	var keys []string
	for o := range s.client.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: s.prefix + prefix, Recursive: true}) {
		if o.Err != nil {
			return nil, fmt.Errorf("blob list %q: %w", prefix, o.Err)
		}
		key := strings.TrimPrefix(o.Key, s.prefix)
		if CheckKey(key) == nil {
			keys = append(keys, key)
		}
	}
	slices.Sort(keys)
	return keys, nil
}

// UnfinishedAge is how old an upload left unfinished (its server stopped
// in the middle) must be before RemoveUnfinished aborts it: another
// server sharing the bucket may be writing a younger one.
const UnfinishedAge = 24 * time.Hour

// RemoveUnfinished aborts the multipart uploads under the store's prefix
// that were started more than UnfinishedAge ago, so their parts stop
// taking space. Call it at start.
func (s *S3) RemoveUnfinished() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	core := minio.Core{Client: s.client}
	var errs []error
	for u := range s.client.ListIncompleteUploads(ctx, s.bucket, s.prefix, true) {
		if u.Err != nil {
			return fmt.Errorf("unfinished blob uploads: %w", u.Err)
		}
		if time.Since(u.Initiated) < UnfinishedAge {
			continue
		}
		if err := core.AbortMultipartUpload(ctx, s.bucket, u.Key, u.UploadID); err != nil {
			errs = append(errs, fmt.Errorf("abort the unfinished upload of %s: %w", u.Key, err))
		}
	}
	return errors.Join(errs...)
}
