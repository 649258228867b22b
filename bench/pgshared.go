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

	"github.com/jackc/pgx/v5"
)

// One throwaway PostgreSQL cluster serves every section that measures on
// PostgreSQL, each in a database of its own: starting a cluster costs
// seconds, and a fresh database keeps one section's rows out of another's
// queries.

// postgresDB returns the URL of a fresh database called name for a section,
// starting the cluster on first use. It returns "" (and no error) when
// PostgreSQL is not to be measured; b.pgNote then says why. On a server
// given with -postgres the database is made there (see givenDB).
func (b *bench) postgresDB(ctx context.Context, name string) (string, error) {
	switch b.cfg.postgres {
	case "off":
		b.pgNote = "PostgreSQL not measured (-postgres=off)"
		return "", nil
	case "auto", "on":
	default:
		b.pgNote = "PostgreSQL: the server given with -postgres, a database of its own per section"
		return b.givenDB(ctx, name)
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

// givenDB makes a fresh database for a section on the server given with
// -postgres, named after the section and the time, and returns its URL
// (the given URL's with that database). A database used before would hold
// another run's rows: its sealed secrets, for one, which a server started
// with a new key refuses.
func (b *bench) givenDB(ctx context.Context, section string) (string, error) {
	u, err := url.Parse(b.cfg.postgres)
	if err != nil {
		return "", fmt.Errorf("-postgres: %w", err)
	}
	name := fmt.Sprintf("%s_%d", section, time.Now().UnixNano())
	if err := onGiven(ctx, b.cfg.postgres, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", fmt.Errorf("-postgres: create database %s (the user needs CREATEDB): %w", name, err)
	}
	b.given = append(b.given, name)
	u.Path = "/" + name
	return u.String(), nil
}

// onGiven runs one statement on the server given with -postgres.
func onGiven(ctx context.Context, dbURL, stmt string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	_, err = conn.Exec(ctx, stmt)
	return err
}

// stopPostgres stops the cluster if a section started one, and drops the
// databases made on a given server.
func (b *bench) stopPostgres() error {
	var errs []error
	for _, name := range b.given {
		if err := onGiven(context.Background(), b.cfg.postgres, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			errs = append(errs, fmt.Errorf("drop database %s: %w", name, err))
		}
	}
	b.given = nil
	if b.pg == nil {
		return errors.Join(errs...)
	}
	if err := b.pg.stop(); err != nil {
		errs = append(errs, fmt.Errorf("stop postgres: %w", err))
	}
	b.pg = nil
	return errors.Join(errs...)
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
