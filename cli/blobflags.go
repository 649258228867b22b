package cli

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/pflag"

	"github.com/lathe-ci/lathe/blob"
	"github.com/lathe-ci/lathe/server"
)

// blobStoreFlags are the flags of where a server keeps its blobs: its data
// directory, or an S3-compatible bucket every replica shares. The secret
// key is read from the environment or a file, never from a flag's value
// (which ps shows). It returns the check to call once flags are parsed.
func blobStoreFlags(fs *pflag.FlagSet, env *Env, cfg *server.Config) func() error {
	fs.StringVar(&cfg.BlobStore, "blob-store", env.Getenv("LATHE_BLOB_STORE"),
		"where uploads, artifacts, caches and tools are kept: empty for DATA, or s3://BUCKET/PREFIX, a bucket every replica shares (env LATHE_BLOB_STORE)")
	fs.StringVar(&cfg.S3.Endpoint, "s3-endpoint", envOr(env, "LATHE_S3_ENDPOINT", envOr(env, "AWS_ENDPOINT_URL_S3", env.Getenv("AWS_ENDPOINT_URL"))),
		"URL of the S3-compatible store, http(s)://HOST[:PORT] (default AWS S3; env LATHE_S3_ENDPOINT, AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL)")
	fs.StringVar(&cfg.S3.Region, "s3-region", envOr(env, "LATHE_S3_REGION", envOr(env, "AWS_REGION", env.Getenv("AWS_DEFAULT_REGION"))),
		"region of the bucket (env LATHE_S3_REGION, AWS_REGION or AWS_DEFAULT_REGION)")
	fs.StringVar(&cfg.S3.AccessKey, "s3-access-key", envOr(env, "LATHE_S3_ACCESS_KEY", env.Getenv("AWS_ACCESS_KEY_ID")),
		"access key ID of the bucket (env LATHE_S3_ACCESS_KEY or AWS_ACCESS_KEY_ID)")
	secretFile := fs.String("s3-secret-key-file", env.Getenv("LATHE_S3_SECRET_KEY_FILE"),
		"file holding the secret access key (env LATHE_S3_SECRET_KEY_FILE; or the key itself in LATHE_S3_SECRET_KEY or AWS_SECRET_ACCESS_KEY)")
	cfg.S3.SecretKey = envOr(env, "LATHE_S3_SECRET_KEY", env.Getenv("AWS_SECRET_ACCESS_KEY"))
	cfg.S3.SessionToken = env.Getenv("AWS_SESSION_TOKEN")
	return func() error {
		// Checked before the server touches its data directory: a start
		// refused for its flags leaves nothing behind.
		if cfg.BlobStore != "" {
			if _, _, err := blob.ParseS3URL(cfg.BlobStore); err != nil {
				return fmt.Errorf("--blob-store: %w (leave it empty to keep blobs in the data directory)", err)
			}
		}
		if *secretFile == "" {
			return nil
		}
		b, err := os.ReadFile(*secretFile)
		if err != nil {
			return fmt.Errorf("--s3-secret-key-file: %w", err)
		}
		cfg.S3.SecretKey = strings.TrimSpace(string(b))
		// Steps of the embedded agents never see it, as they never see
		// the secret key files.
		cfg.Executor.Hide = append(cfg.Executor.Hide, *secretFile)
		return nil
	}
}
