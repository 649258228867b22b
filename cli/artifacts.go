package cli

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strconv"
	"strings"
	"text/tabwriter"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/client"
)

const artifactsUsage = `Usage:
  lathe artifacts list RUN [--job J]
  lathe artifacts get RUN [PATH] [--job J] [-o DIR]
list shows the files a run's jobs kept (their artifacts:). get downloads them
into DIR (default: the current directory) at their paths in the workspace:
all of them, or PATH (a file, or a directory and what it holds).`

func cmdArtifacts(ctx context.Context, args []string, env *Env) int {
	if len(args) == 0 {
		fmt.Fprintln(env.Stderr, artifactsUsage)
		return 2
	}
	sub, args := args[0], args[1:]
	fs := newFlags(env, "artifacts "+sub, "RUN [PATH]")
	mk := clientFlags(fs, env)
	job := fs.String("job", "", "only this job's artifacts (its full name)")
	dir := fs.String("o", ".", "get: the directory to write the files into")
	asJSON := fs.Bool("json", false, "list: print JSON")
	pos, code, ok := parse(fs, args)
	if !ok {
		return code
	}
	if len(pos) == 0 || sub == "list" && len(pos) != 1 || sub == "get" && len(pos) > 2 || sub != "list" && sub != "get" {
		fmt.Fprintln(env.Stderr, artifactsUsage)
		return 2
	}
	run, err := strconv.ParseInt(pos[0], 10, 64)
	if err != nil || run <= 0 {
		return fail(env, fmt.Errorf("%q is not a run ID", pos[0]))
	}
	c := mk()
	list, err := c.RunArtifacts(ctx, run, *job)
	if err != nil {
		return fail(env, err)
	}
	if sub == "list" {
		if *asJSON {
			return printJSON(env, list)
		}
		tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tJOB\tPATH\tSIZE\tEXPIRES")
		for _, a := range list {
			expires := "never"
			switch {
			case a.Expired:
				expires = "expired"
			case a.ExpiresAt != nil:
				expires = a.ExpiresAt.Format("2006-01-02 15:04")
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%s\n", a.ID, field(a.Job), field(a.Path), a.Size, expires)
		}
		tw.Flush()
		return 0
	}
	want := ""
	if len(pos) == 2 {
		want = strings.TrimSuffix(pos[1], "/")
	}
	pick, err := pickArtifacts(list, want)
	if err != nil {
		return fail(env, err)
	}
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		return fail(env, err)
	}
	root, err := os.OpenRoot(*dir)
	if err != nil {
		return fail(env, err)
	}
	defer root.Close()
	for _, a := range pick {
		if err := fetchArtifact(ctx, c, root, a); err != nil {
			return fail(env, fmt.Errorf("artifact %d (%s): %w", a.ID, a.Path, err))
		}
		fmt.Fprintf(env.Stdout, "%s (%d bytes, from %s)\n", path.Join(*dir, a.Path), a.Size, a.Job)
	}
	return 0
}

// pickArtifacts keeps the artifacts at want (or in it, a directory; all
// when ""), refusing expired ones and two jobs' files of one path.
func pickArtifacts(list []*lathe.Artifact, want string) ([]*lathe.Artifact, error) {
	var out []*lathe.Artifact
	from := map[string]string{}
	for _, a := range list {
		if want != "" && a.Path != want && !strings.HasPrefix(a.Path, want+"/") {
			continue
		}
		if a.Expired {
			return nil, fmt.Errorf("%s of job %s expired under its retention policy", a.Path, a.Job)
		}
		if j, ok := from[a.Path]; ok {
			return nil, fmt.Errorf("jobs %s and %s both kept %s: name one with --job", j, a.Job, a.Path)
		}
		from[a.Path] = a.Job
		out = append(out, a)
	}
	if len(out) == 0 {
		if want == "" {
			return nil, errors.New("the run kept no artifacts")
		}
		return nil, fmt.Errorf("the run kept no artifact at %s", want)
	}
	return out, nil
}

// fetchArtifact downloads one artifact into root at its path, checking its
// path (the server's word is not taken for it) and its SHA-256.
func fetchArtifact(ctx context.Context, c *client.Client, root *os.Root, a *lathe.Artifact) error {
	if err := lathe.CheckArtifactPath(a.Path); err != nil {
		return err
	}
	if dir := path.Dir(a.Path); dir != "." {
		if err := root.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	body, err := c.ArtifactContent(ctx, a.ID)
	if err != nil {
		return err
	}
	defer body.Close()
	tmp := a.Path + ".lathe-partial"
	f, err := root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	h := sha256.New()
	_, err = io.Copy(io.MultiWriter(f, h), body)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && hex.EncodeToString(h.Sum(nil)) != a.SHA256 {
		err = fmt.Errorf("the download's SHA-256 is not the %s the server recorded", a.SHA256)
	}
	if err != nil {
		root.Remove(tmp)
		return err
	}
	return root.Rename(tmp, a.Path)
}
