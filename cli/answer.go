package cli

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// request is one call a command makes to the server.
type request struct {
	method, path string
	body         any
}

// items is a list answer: {"items": [...]}.
type items[T any] struct {
	Items []T `json:"items"`
}

// get is a GET of path.
func get(path string) request { return request{method: http.MethodGet, path: path} }

// errUsage, returned by a command's request function, prints the
// command's usage (exit 2) instead of an error.
var errUsage = errors.New("usage")

// deleteCmd makes a command that deletes what its nargs positional
// arguments name (path) and prints done's sentence once it is gone.
func deleteCmd(env *Env, use, short string, nargs int, path, done func(pos []string) string) *cobra.Command {
	return env.leaf(use, short, func(fs *pflag.FlagSet) body {
		mk := clientFlags(fs, env)
		return func(ctx context.Context, pos []string) int {
			if len(pos) != nargs {
				return badUsage
			}
			if err := mk().Do(ctx, http.MethodDelete, path(pos), nil, nil); err != nil {
				return fail(env, err)
			}
			fmt.Fprintln(env.Stdout, done(pos))
			return 0
		}
	})
}

// answerCmd makes a command that sends one request and prints the
// server's answer, a T: as --json, --jq or -o ask (and -q when quiet),
// else as show prints it for people. define declares the command's own
// flags and returns how its positional arguments make the request; nargs
// is how many it takes (-1: any number, the request function checks). A
// request function's error is the command's (exit 1), errUsage its usage.
func answerCmd[T any](env *Env, use, short string, nargs int, quiet bool,
	define func(fs *pflag.FlagSet) func(pos []string) (request, error),
	show func(env *Env, answer *T, pos []string)) *cobra.Command {
	return env.leaf(use, short, func(fs *pflag.FlagSet) body {
		mk := clientFlags(fs, env)
		req := define(fs)
		out := outputFlags(fs, quiet)
		return func(ctx context.Context, pos []string) int {
			if nargs >= 0 && len(pos) != nargs {
				return badUsage
			}
			r, err := req(pos)
			if errors.Is(err, errUsage) {
				return badUsage
			}
			if err != nil {
				return fail(env, err)
			}
			var answer T
			if err := out.wrap(mk().Do)(ctx, r.method, r.path, r.body, &answer); err != nil {
				return fail(env, err)
			}
			if out.structured() {
				return out.print(env, answer)
			}
			show(env, &answer, pos)
			return 0
		}
	})
}

// noFlags is the define of a command without flags of its own whose
// request depends on its positional arguments alone.
func noFlags(req func(pos []string) request) func(fs *pflag.FlagSet) func(pos []string) (request, error) {
	return func(*pflag.FlagSet) func(pos []string) (request, error) {
		return func(pos []string) (request, error) { return req(pos), nil }
	}
}

// pager is the --limit and --before flags of a paged list.
type pager struct {
	limit  *int
	before *int64
}

// pageFlags adds --limit (how many of what a page, def unless given, up to
// most) and --before to fs.
func pageFlags(fs *pflag.FlagSet, what string, def, most int) pager {
	return pager{
		limit:  fs.Int("limit", def, fmt.Sprintf("how many %s (1–%d)", what, most)),
		before: fs.Int64("before", 0, "the page after this cursor (a page's next)"),
	}
}

// query adds the page's limit and cursor to q and returns it encoded.
func (p pager) query(q url.Values) string {
	q.Set("limit", strconv.Itoa(*p.limit))
	if *p.before > 0 {
		q.Set("before", strconv.FormatInt(*p.before, 10))
	}
	return q.Encode()
}

// printMore names the next page's flag when there is one.
func printMore(env *Env, next *int64) {
	if next != nil {
		fmt.Fprintf(env.Stdout, "more: add --before %d\n", *next)
	}
}
