package cli

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	lathe "github.com/lathe-ci/lathe"
)

const webhookLong = `A project's webhooks receive its run and job events: Lathe POSTs JSON {type, timestamp,
data} (type such as run.success or job.running) to the webhook's URL, signed with the
Standard Webhooks scheme (webhook-id, webhook-timestamp, webhook-signature) under the
webhook's secret. The secret (whsec_…) is shown once, when the webhook is created; give
your own with --secret-stdin. A delivery that gets no answer, 408, 429 or 5xx is tried
again for up to a day; deliveries lists each message with the HTTP code of every try.
(lathe hooks manages the tokens that start runs from a forge instead.)`

// webhookCmd manages a project's outgoing webhooks and their deliveries.
func webhookCmd(env *Env) *cobra.Command {
	base := func(project string) string {
		return "/api/v1/projects/" + url.PathEscape(project) + "/webhooks"
	}
	one := func(pos []string) string { return base(pos[0]) + "/" + url.PathEscape(pos[1]) }
	// events declares --event: repeatable, each a comma-separated list.
	events := func(fs *pflag.FlagSet) func() []string {
		var list stringList
		fs.Var(&list, "event", "an event kind to send: run (a run changed status) or job (a job did); repeat or separate with commas")
		return func() []string {
			out := []string{}
			for _, v := range list {
				out = append(out, splitList(v)...)
			}
			return out
		}
	}
	secretStdin := func(fs *pflag.FlagSet) *bool {
		return fs.Bool("secret-stdin", false, "read a signing secret of your choosing (whsec_ and base64 of 24 to 64 bytes) from standard input, without echo")
	}
	readSecret := func() (string, error) {
		v, err := readPassword(env, "Webhook secret: ", false)
		if err != nil {
			return "", fmt.Errorf("read the secret: %w", err)
		}
		if v == "" {
			return "", errors.New("--secret-stdin: no secret on standard input")
		}
		return v, nil
	}

	create := env.leaf("create PROJECT URL --event run|job ...", "add a webhook: the project's events of the kinds named are POSTed to URL, signed (the secret is shown once)", func(fs *pflag.FlagSet) body {
		mk := clientFlags(fs, env)
		evs := events(fs)
		active := fs.Bool("active", true, "send events (--active=false: create it paused)")
		chosen := secretStdin(fs)
		out := outputFlags(fs, false)
		return func(ctx context.Context, pos []string) int {
			if len(pos) != 2 {
				return badUsage
			}
			in := map[string]any{"url": pos[1], "events": evs()}
			if fs.Changed("active") {
				in["active"] = *active
			}
			if *chosen {
				s, err := readSecret()
				if err != nil {
					return fail(env, err)
				}
				in["secret"] = s
			}
			var hook lathe.Webhook
			if err := out.wrap(mk().Do)(ctx, http.MethodPost, base(pos[0]), in, &hook); err != nil {
				return fail(env, err)
			}
			if out.structured() {
				return out.print(env, hook)
			}
			state := ""
			if !hook.Active {
				state = " (paused)"
			}
			fmt.Fprintf(env.Stdout, "webhook %d of %s: %s events POSTed to %s%s\n", hook.ID, field(hook.Project), fields(hook.Events), field(hook.URL), state)
			if *chosen {
				fmt.Fprintln(env.Stdout, "Its messages are signed with the secret given.")
				return 0
			}
			fmt.Fprintf(env.Stdout, "Signing secret (it will not be shown again):\n%s\n", field(hook.Secret))
			return 0
		}
	})

	list := env.leaf("list PROJECT", "list a project's webhooks (never a secret)", func(fs *pflag.FlagSet) body {
		mk := clientFlags(fs, env)
		out := outputFlags(fs, true)
		return func(ctx context.Context, pos []string) int {
			if len(pos) != 1 {
				return badUsage
			}
			var list struct {
				Items []*lathe.Webhook `json:"items"`
			}
			if err := out.wrap(mk().Do)(ctx, http.MethodGet, base(pos[0]), nil, &list); err != nil {
				return fail(env, err)
			}
			if out.structured() {
				return out.print(env, list)
			}
			printWebhooks(env, list.Items)
			return 0
		}
	})

	get := env.leaf("get PROJECT ID", "show a webhook (never its secret)", func(fs *pflag.FlagSet) body {
		mk := clientFlags(fs, env)
		out := outputFlags(fs, true)
		return func(ctx context.Context, pos []string) int {
			if len(pos) != 2 {
				return badUsage
			}
			var hook lathe.Webhook
			if err := out.wrap(mk().Do)(ctx, http.MethodGet, one(pos), nil, &hook); err != nil {
				return fail(env, err)
			}
			if out.structured() {
				return out.print(env, hook)
			}
			printWebhooks(env, []*lathe.Webhook{&hook})
			return 0
		}
	})

	update := env.leaf("update PROJECT ID [--url URL] [--event run|job ...] [--active=BOOL] [--secret-stdin]", "change a webhook's URL, events, whether it is active, or its secret", func(fs *pflag.FlagSet) body {
		mk := clientFlags(fs, env)
		to := fs.String("url", "", "the URL to POST to")
		evs := events(fs)
		active := fs.Bool("active", true, "send events (--active=false: pause the webhook)")
		chosen := secretStdin(fs)
		out := outputFlags(fs, false)
		return func(ctx context.Context, pos []string) int {
			if len(pos) != 2 {
				return badUsage
			}
			in := map[string]any{}
			if fs.Changed("url") {
				in["url"] = *to
			}
			if fs.Changed("event") {
				in["events"] = evs()
			}
			if fs.Changed("active") {
				in["active"] = *active
			}
			if *chosen {
				s, err := readSecret()
				if err != nil {
					return fail(env, err)
				}
				in["secret"] = s
			}
			if len(in) == 0 {
				fmt.Fprintln(env.Stderr, "lathe: nothing to change: give --url, --event, --active or --secret-stdin")
				return badUsage
			}
			var hook lathe.Webhook
			if err := out.wrap(mk().Do)(ctx, http.MethodPatch, one(pos), in, &hook); err != nil {
				return fail(env, err)
			}
			if out.structured() {
				return out.print(env, hook)
			}
			fmt.Fprintf(env.Stdout, "webhook %d of %s updated\n", hook.ID, field(hook.Project))
			return 0
		}
	})

	del := env.leaf("delete PROJECT ID", "delete a webhook and its deliveries, queued ones included", func(fs *pflag.FlagSet) body {
		mk := clientFlags(fs, env)
		return func(ctx context.Context, pos []string) int {
			if len(pos) != 2 {
				return badUsage
			}
			if err := mk().Do(ctx, http.MethodDelete, one(pos), nil, nil); err != nil {
				return fail(env, err)
			}
			fmt.Fprintf(env.Stdout, "webhook %s of %s deleted\n", field(pos[1]), field(pos[0]))
			return 0
		}
	})

	deliveries := env.leaf("deliveries PROJECT ID", "list a webhook's deliveries, newest first, with the HTTP code of every try", func(fs *pflag.FlagSet) body {
		mk := clientFlags(fs, env)
		limit := fs.Int("limit", 20, "how many deliveries (1–200)")
		before := fs.Int64("before", 0, "the page after this cursor (a page's next)")
		out := outputFlags(fs, true)
		return func(ctx context.Context, pos []string) int {
			if len(pos) != 2 {
				return badUsage
			}
			q := url.Values{"limit": {strconv.Itoa(*limit)}}
			if *before > 0 {
				q.Set("before", strconv.FormatInt(*before, 10))
			}
			var page lathe.Page[*lathe.Delivery]
			if err := out.wrap(mk().Do)(ctx, http.MethodGet, one(pos)+"/deliveries?"+q.Encode(), nil, &page); err != nil {
				return fail(env, err)
			}
			if out.structured() {
				return out.print(env, page)
			}
			tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tEVENT\tTRIES\tSTATUS\tWHEN\tERROR")
			for _, d := range page.Items {
				event := field(d.Context)
				if d.RedeliveryOf != 0 {
					event += fmt.Sprintf(" (again: %d)", d.RedeliveryOf)
				}
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", d.ID, event, tryCodes(d.Tries), d.Status,
					d.CreatedAt.Local().Format("2006-01-02 15:04:05"), dash(field(d.Error)))
			}
			tw.Flush()
			if page.Next != nil {
				fmt.Fprintf(env.Stdout, "more: add --before %d\n", *page.Next)
			}
			return 0
		}
	})

	redeliver := env.leaf("redeliver PROJECT ID DELIVERY", "send a delivery's message again (same webhook-id, signed anew), at once", func(fs *pflag.FlagSet) body {
		mk := clientFlags(fs, env)
		out := outputFlags(fs, true)
		return func(ctx context.Context, pos []string) int {
			if len(pos) != 3 {
				return badUsage
			}
			var d lathe.Delivery
			if err := out.wrap(mk().Do)(ctx, http.MethodPost, one(pos)+"/deliveries/"+url.PathEscape(pos[2])+"/redeliver", nil, &d); err != nil {
				return fail(env, err)
			}
			if out.structured() {
				return out.print(env, d)
			}
			fmt.Fprintf(env.Stdout, "delivery %d queued: %s of webhook %s sent again (delivery %s)\n", d.ID, field(d.Context), field(pos[1]), field(pos[2]))
			return 0
		}
	})

	return group("webhook", "manage a project's outgoing webhooks (create, list, get, update, delete) and their deliveries (deliveries, redeliver)", webhookLong,
		create, list, get, update, del, deliveries, redeliver)
}

// printWebhooks prints one line per webhook.
func printWebhooks(env *Env, hooks []*lathe.Webhook) {
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tURL\tEVENTS\tACTIVE\tCREATED\tBY")
	for _, h := range hooks {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%t\t%s\t%s\n", h.ID, field(h.URL), fields(h.Events), h.Active,
			h.CreatedAt.Local().Format("2006-01-02 15:04:05"), field(h.CreatedBy))
	}
	tw.Flush()
}

// tryCodes is the HTTP code answered to each try, oldest first ("-" for a
// try no answer came to; "-" alone when none was made).
func tryCodes(tries []lathe.DeliveryTry) string {
	if len(tries) == 0 {
		return "-"
	}
	codes := make([]string, len(tries))
	for i, t := range tries {
		codes[i] = "-"
		if t.HTTPCode != 0 {
			codes[i] = strconv.Itoa(t.HTTPCode)
		}
	}
	return strings.Join(codes, ",")
}
