package cli

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/client"
)

func artifactsCmd(env *Env) *cobra.Command {
	list := env.leaf("list RUN", "list the files a run's jobs kept (their artifacts:)", func(fs *pflag.FlagSet) body {
		mk := clientFlags(fs, env)
		job := fs.String("job", "", "only this job's artifacts (its full name)")
		out := outputFlags(fs, true)
		return func(ctx context.Context, pos []string) int {
			run, code, ok := artifactRun(env, pos, 1)
			if !ok {
				return code
			}
			list, err := mk().RunArtifacts(ctx, run, *job)
			if err != nil {
				return fail(env, err)
			}
			if out.structured() {
				return out.print(env, map[string]any{"items": list})
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
	})
	download := env.leaf("get RUN [PATH]", "download a run's artifacts into DIR at their workspace paths: all, or PATH (a file or a directory)", func(fs *pflag.FlagSet) body {
		mk := clientFlags(fs, env)
		job := fs.String("job", "", "only this job's artifacts (its full name)")
		dir := fs.StringP("output", "o", ".", "the directory to write the files into")
		return func(ctx context.Context, pos []string) int {
			run, code, ok := artifactRun(env, pos, 2)
			if !ok {
				return code
			}
			c := mk()
			list, err := c.RunArtifacts(ctx, run, *job)
			if err != nil {
				return fail(env, err)
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
	})
	history := answerCmd(env, "history PROJECT", "list a project's artifacts across runs, newest first: a branch's (--branch), a file's (--path)", 1, true,
		func(fs *pflag.FlagSet) func(pos []string) (request, error) {
			flags := map[string]*string{
				"branch":   fs.String("branch", "", "only artifacts of runs of this branch"),
				"pipeline": fs.String("pipeline", "", "only artifacts of runs of this pipeline"),
				"path":     fs.String("path", "", "only artifacts of this path (relative to the workspace)"),
				"before":   fs.String("before", "", "the page after this cursor"),
			}
			limit := fs.Int("limit", 50, "how many artifacts")
			return func(pos []string) (request, error) {
				q := url.Values{"limit": {strconv.Itoa(*limit)}}
				queryFlags(q, flags)
				return get("/api/v1/projects/" + url.PathEscape(pos[0]) + "/artifacts?" + q.Encode()), nil
			}
		},
		func(env *Env, page *lathe.Page[*lathe.Artifact], _ []string) {
			tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tRUN\tBRANCH\tPIPELINE\tJOB\tPATH\tSIZE\tCREATED\tEXPIRES")
			for _, a := range page.Items {
				branch := a.Branch
				if branch == "" {
					branch = "-"
				}
				fmt.Fprintf(tw, "%d\t%d\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", a.ID, a.RunID, field(branch), field(a.Pipeline), field(a.Job), field(a.Path), a.Size,
					a.CreatedAt.Local().Format(time.DateTime), artifactExpiry(a))
			}
			tw.Flush()
			printMore(env, page.Next)
		})
	uploads := env.leaf("uploads RUN", "list the files a run's jobs handed on to later jobs (their upload: steps)", func(fs *pflag.FlagSet) body {
		mk := clientFlags(fs, env)
		out := outputFlags(fs, true)
		out.key = "name"
		return func(ctx context.Context, pos []string) int {
			run, code, ok := artifactRun(env, pos, 1)
			if !ok {
				return code
			}
			var list items[*lathe.Upload]
			if err := out.wrap(mk().Do)(ctx, http.MethodGet, fmt.Sprintf("/api/v1/runs/%d/uploads", run), nil, &list); err != nil {
				return fail(env, err)
			}
			if out.structured() {
				return out.print(env, list)
			}
			tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tJOB\tATTEMPT\tSIZE\tSHA256\tCREATED")
			for _, u := range list.Items {
				fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%.12s\t%s\n", field(u.Name), field(u.Job), u.Attempt, u.Size, u.SHA256, u.CreatedAt.Local().Format(time.DateTime))
			}
			tw.Flush()
			return 0
		}
	})
	return group("artifacts", "list a run's artifacts, or download them (get RUN [PATH] [-o DIR]); a project's across runs (history); a run's uploads", "",
		list, download, history, uploads)
}

// artifactExpiry says when an artifact's content goes: never, expired, or when.
func artifactExpiry(a *lathe.Artifact) string {
	switch {
	case a.Expired:
		return "expired"
	case a.ExpiresAt != nil:
		return a.ExpiresAt.Local().Format("2006-01-02 15:04")
	}
	return "never"
}

// artifactRun reads the run ID of an artifacts command taking 1 to max
// positional arguments.
func artifactRun(env *Env, pos []string, max int) (int64, int, bool) {
	if len(pos) == 0 || len(pos) > max {
		return 0, badUsage, false
	}
	run, err := strconv.ParseInt(pos[0], 10, 64)
	if err != nil || run <= 0 {
		return 0, fail(env, fmt.Errorf("%q is not a run ID", pos[0])), false
	}
	return run, 0, true
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
