package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// One throwaway PostgreSQL cluster serves every section that measures on
// PostgreSQL, each in a database of its own: starting a cluster costs
// seconds, and a fresh database keeps one section's rows out of another's
// queries.

// postgresDB returns the URL of a fresh database called name for a section,
// starting the cluster on first use. It returns "" (and no error) when
// PostgreSQL is not to be measured; b.pgNote then says why. A server given
// with -postgres is used as it is, shared by the sections.
func (b *bench) postgresDB(ctx context.Context, name string) (string, error) {
	switch b.cfg.postgres {
	case "off":
		b.pgNote = "PostgreSQL not measured (-postgres=off)"
		return "", nil
	case "auto", "on":
	default:
		b.pgNote = "PostgreSQL: the server given with -postgres"
		return b.cfg.postgres, nil
	}
	if b.pg == nil {
		bin := pgBinDir()
		if bin == "" {
			b.pgNote = "PostgreSQL not measured: no server binaries in " + pgInstallRoot + "/*/bin"
			if b.cfg.postgres == "on" {
				return "", errors.New(b.pgNote)
			}
			return "", nil
		}
		c, err := startPostgres(ctx, bin)
		if err != nil {
			return "", err
		}
		b.pg = c
		b.pgNote = fmt.Sprintf("PostgreSQL %s: throwaway cluster on 127.0.0.1 (%s), a database per section", c.version, strings.Join(pgSettings[1:2], ", "))
	}
	return b.pg.createDB(ctx, name)
}

// stopPostgres stops the cluster if a section started one.
func (b *bench) stopPostgres() error {
	if b.pg == nil {
		return nil
	}
	err := b.pg.stop()
	b.pg = nil
	if err != nil {
		return fmt.Errorf("stop postgres: %w", err)
	}
	return nil
}

// createDB creates a database with createdb (over TCP, as the cluster's
// superuser; authentication is trust) and returns its URL.
func (c *pgCluster) createDB(ctx context.Context, name string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	bin := filepath.Join(pgBinDir(), "createdb")
	cmd := exec.CommandContext(ctx, bin, "-h", "127.0.0.1", "-p", strconv.Itoa(c.port), "-U", "postgres", name)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PG") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("createdb %s: %v: %s", name, err, strings.TrimSpace(string(out)))
	}
	u := url.URL{Scheme: "postgres", User: url.User("postgres"), Host: fmt.Sprintf("127.0.0.1:%d", c.port), Path: "/" + name, RawQuery: "sslmode=disable"}
	return u.String(), nil
}
