package blob

import (
	"bytes"
	"cmp"
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
	"os"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

// S3 is a Store in a bucket of an S3-compatible object store (AWS S3,
// MinIO, Ceph, the Versity gateway…): the object of key a/b is
// Prefix+"a/b". Several servers may share one: what one stores another
// reads. Put streams the content and checks its size and SHA-256 as the
// last bytes go out; content that is not what it was told makes the
// upload fail before the store completes it, so the key keeps what it had.
type S3 struct {
	client *s3.Client
	bucket string
	// prefix ends with "/" unless empty.
	prefix string
	// partSize is partSize but in tests.
	partSize int64
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
	// (or MINIO_ACCESS_KEY, MINIO_SECRET_KEY) from the environment, and
	// unsigned requests when neither has any.
	AccessKey, SecretKey, SessionToken string
}

// partSize is the size of the parts of an upload larger than one part:
// the most memory one upload holds (a smaller upload holds its size).
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
// answers and exists. With no region given (nor AWS_REGION), the bucket's
// own is taken from the store's answer.
func NewS3(ctx context.Context, o S3Options) (*S3, error) {
	if o.Bucket == "" {
		return nil, errors.New("blob store: no bucket")
	}
	host := "s3.amazonaws.com"
	if o.Endpoint != "" {
		u, err := url.Parse(o.Endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
			return nil, fmt.Errorf("blob store endpoint %q: want http://HOST[:PORT] or https://HOST[:PORT]", o.Endpoint)
		}
		host = u.Host
	}
	creds, err := s3Credentials(o)
	if err != nil {
		return nil, err
	}
	region := cmp.Or(o.Region, os.Getenv("AWS_REGION"), "us-east-1")
	c := newS3Client(o.Endpoint, region, creds)
	_, err = c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: &o.Bucket})
	if theirs := bucketRegion(err); err != nil && theirs != "" && theirs != region && o.Region == "" {
		c = newS3Client(o.Endpoint, theirs, creds)
		_, err = c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: &o.Bucket})
	}
	if httpStatus(err) == http.StatusNotFound {
		return nil, fmt.Errorf("blob store: bucket %q at %s does not exist (create it first)", o.Bucket, host)
	}
	if err != nil {
		return nil, fmt.Errorf("blob store: bucket %q at %s: %w", o.Bucket, host, err)
	}
	s := &S3{client: c, bucket: o.Bucket, partSize: partSize}
	return s.Sub(o.Prefix), nil
}

// newS3Client is a client of the store at endpoint ("": AWS S3). Other
// stores are addressed by path (http://HOST/BUCKET/KEY), which they all
// serve. Checksums beyond the signature's SHA-256 go only where the API
// requires them, which every S3-compatible store accepts.
func newS3Client(endpoint, region string, creds aws.CredentialsProvider) *s3.Client {
	o := s3.Options{
		Region:                     region,
		Credentials:                creds,
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	}
	if endpoint != "" {
		o.BaseEndpoint, o.UsePathStyle = aws.String(strings.TrimSuffix(endpoint, "/")), true
	}
	return s3.New(o)
}

// s3Credentials are o's keys, else the environment's, else none (unsigned
// requests, for a public bucket).
func s3Credentials(o S3Options) (aws.CredentialsProvider, error) {
	key, secret, token := o.AccessKey, o.SecretKey, o.SessionToken
	if key == "" && secret == "" {
		for _, names := range [][3]string{{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"}, {"MINIO_ACCESS_KEY", "MINIO_SECRET_KEY"}} {
			key, secret = os.Getenv(names[0]), os.Getenv(names[1])
			if key == "" && secret == "" {
				continue
			}
			if key == "" || secret == "" {
				return nil, fmt.Errorf("blob store: %s and %s must be set together", names[0], names[1])
			}
			if names[2] != "" {
				token = os.Getenv(names[2])
			}
			break
		}
		if key == "" {
			return aws.AnonymousCredentials{}, nil
		}
	} else if key == "" || secret == "" {
		return nil, errors.New("blob store: an access key needs its secret key, and a secret key its access key")
	}
	c := aws.Credentials{AccessKeyID: key, SecretAccessKey: secret, SessionToken: token, Source: "lathe"}
	return aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) { return c, nil }), nil
}

// errorCode is the store's code for err ("NoSuchKey"…), or "".
func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// httpStatus is the HTTP status of the store's answer that err is, or 0.
func httpStatus(err error) int {
	var re interface{ HTTPStatusCode() int }
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

// bucketRegion is the region a refusal says the bucket is in, or "".
func bucketRegion(err error) string {
	var re *awshttp.ResponseError
	if errors.As(err, &re) && re.Response != nil {
		return re.Response.Header.Get("X-Amz-Bucket-Region")
	}
	return ""
}

// Sub returns the Store of the keys under prefix (a key's segments) in
// the same bucket: the server keeps uploads, artifacts, caches and tools
// apart this way.
func (s *S3) Sub(prefix string) *S3 {
	prefix = strings.Trim(prefix, "/")
	sub := *s
	if prefix != "" {
		sub.prefix += prefix + "/"
	}
	return &sub
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
	if err := s.put(ctx, name, v); err != nil {
		return Info{}, fmt.Errorf("blob %s: %w", key, err)
	}
	return Info{Size: v.n, SHA256: hex.EncodeToString(v.h.Sum(nil))}, nil
}

// put stores what v reads at name: in one request when it fits in one
// part, else as a multipart upload completed only once v has checked the
// whole content (and aborted otherwise).
func (s *S3) put(ctx context.Context, name string, v *verifier) error {
	part, more, err := readPart(nil, v, s.partSize)
	if err != nil {
		return err
	}
	if !more {
		_, err := s.client.PutObject(ctx, &s3.PutObjectInput{Bucket: &s.bucket, Key: &name,
			Body: bytes.NewReader(part), ContentLength: aws.Int64(int64(len(part))), ContentType: aws.String("application/octet-stream")})
		return err
	}
	up, err := s.client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: &s.bucket, Key: &name, ContentType: aws.String("application/octet-stream")})
	if err != nil {
		return err
	}
	var parts []types.CompletedPart
	for err == nil && len(part) > 0 {
		n := aws.Int32(int32(len(parts) + 1))
		var out *s3.UploadPartOutput
		out, err = s.client.UploadPart(ctx, &s3.UploadPartInput{Bucket: &s.bucket, Key: &name, UploadId: up.UploadId, PartNumber: n,
			Body: bytes.NewReader(part), ContentLength: aws.Int64(int64(len(part)))})
		if err == nil {
			parts = append(parts, types.CompletedPart{ETag: out.ETag, PartNumber: n})
			part = part[:0]
			if more {
				part, more, err = readPart(part, v, s.partSize)
			}
		}
	}
	if err == nil {
		_, err = s.client.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: &s.bucket, Key: &name, UploadId: up.UploadId,
			MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}})
	}
	if err != nil {
		s.client.AbortMultipartUpload(context.WithoutCancel(ctx), &s3.AbortMultipartUploadInput{Bucket: &s.bucket, Key: &name, UploadId: up.UploadId})
	}
	return err
}

// readPart reads into buf (emptied) up to size bytes of what v reads,
// growing buf no larger than that; more says the content may go on.
func readPart(buf []byte, v *verifier, size int64) (part []byte, more bool, err error) {
	buf = buf[:0]
	if v.want.Size >= 0 && cap(buf) == 0 {
		buf = make([]byte, 0, min(v.want.Size, size)+1) // +1: the read that finds the end
	}
	for int64(len(buf)) < size {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, int(min(max(int64(cap(buf)), 32<<10), size-int64(len(buf)))))
		}
		n, err := v.Read(buf[len(buf):min(int64(cap(buf)), size)])
		buf = buf[:len(buf)+n]
		switch {
		case v.err != nil:
			return nil, false, v.err
		case err == io.EOF:
			return buf, false, nil
		case err != nil:
			return nil, false, err
		}
	}
	return buf, !v.done, nil
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
		if _, err := s.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &s.bucket, Key: &name}); err != nil {
			return nil, s.fail(key, err)
		}
		return io.NopCloser(bytes.NewReader(nil)), nil
	}
	in := &s3.GetObjectInput{Bucket: &s.bucket, Key: &name}
	switch {
	case length > 0:
		in.Range = aws.String(fmt.Sprintf("bytes=%d-%d", off, off+length-1))
	case off > 0:
		in.Range = aws.String(fmt.Sprintf("bytes=%d-", off))
	}
	out, err := s.client.GetObject(ctx, in)
	if err != nil {
		if errorCode(err) == "InvalidRange" {
			// The object is there, shorter than off.
			return io.NopCloser(bytes.NewReader(nil)), nil
		}
		return nil, s.fail(key, err)
	}
	return out.Body, nil
}

// fail wraps a store's error, a missing object as fs.ErrNotExist.
func (s *S3) fail(key string, err error) error {
	if code := errorCode(err); code == "NoSuchKey" || httpStatus(err) == http.StatusNotFound && code != "NoSuchBucket" {
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
	if _, err := s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &s.bucket, Key: &name}); err != nil && errorCode(err) != "NoSuchKey" {
		return fmt.Errorf("blob %s: %w", key, err)
	}
	return nil
}

// List implements Store.
func (s *S3) List(ctx context.Context, prefix string) ([]string, error) {
	var keys []string
	pages := s3.NewListObjectsV2Paginator(s.client, &s3.ListObjectsV2Input{Bucket: &s.bucket, Prefix: aws.String(s.prefix + prefix)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("blob list %q: %w", prefix, err)
		}
		for _, o := range page.Contents {
			key := strings.TrimPrefix(aws.ToString(o.Key), s.prefix)
			if CheckKey(key) == nil {
				keys = append(keys, key)
			}
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
	in := &s3.ListMultipartUploadsInput{Bucket: &s.bucket, Prefix: &s.prefix}
	var errs []error
	for {
		page, err := s.client.ListMultipartUploads(ctx, in)
		if err != nil {
			return fmt.Errorf("unfinished blob uploads: %w", err)
		}
		for _, u := range page.Uploads {
			if u.Initiated != nil && time.Since(*u.Initiated) < UnfinishedAge {
				continue
			}
			if _, err := s.client.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: &s.bucket, Key: u.Key, UploadId: u.UploadId}); err != nil {
				errs = append(errs, fmt.Errorf("abort the unfinished upload of %s: %w", aws.ToString(u.Key), err))
			}
		}
		if !aws.ToBool(page.IsTruncated) {
			return errors.Join(errs...)
		}
		in.KeyMarker, in.UploadIdMarker = page.NextKeyMarker, page.NextUploadIdMarker
	}
}
