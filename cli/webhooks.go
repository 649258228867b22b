package cli

import (
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
	// addSecret reads the secret --secret-stdin gives (chosen) into in.
	addSecret := func(chosen bool, in map[string]any) error {
		if !chosen {
			return nil
		}
		v, err := readPassword(env, "Webhook secret: ", false)
		if err != nil {
			return fmt.Errorf("read the secret: %w", err)
		}
		if v == "" {
			return errors.New("--secret-stdin: no secret on standard input")
		}
		in["secret"] = v
		return nil
	}

	var ownSecret *bool // create's --secret-stdin: whether the user gave the secret
	create := answerCmd(env, "create PROJECT URL --event run|job ...", "add a webhook: the project's events of the kinds named are POSTed to URL, signed (the secret is shown once)", 2, false,
		func(fs *pflag.FlagSet) func([]string) (request, error) {
			evs := events(fs)
			active := fs.Bool("active", true, "send events (--active=false: create it paused)")
			ownSecret = secretStdin(fs)
			return func(pos []string) (request, error) {
				in := map[string]any{"url": pos[1], "events": evs()}
				if fs.Changed("active") {
					in["active"] = *active
				}
				if err := addSecret(*ownSecret, in); err != nil {
					return request{}, err
				}
				return request{method: http.MethodPost, path: base(pos[0]), body: in}, nil
			}
		},
		func(env *Env, hook *lathe.Webhook, _ []string) {
			state := ""
			if !hook.Active {
				state = " (paused)"
			}
			fmt.Fprintf(env.Stdout, "webhook %d of %s: %s events POSTed to %s%s\n", hook.ID, field(hook.Project), fields(hook.Events), field(hook.URL), state)
			if *ownSecret {
				fmt.Fprintln(env.Stdout, "Its messages are signed with the secret given.")
				return
			}
			fmt.Fprintf(env.Stdout, "Signing secret (it will not be shown again):\n%s\n", field(hook.Secret))
		})

	type webhooks items[*lathe.Webhook]
	list := answerCmd(env, "list PROJECT", "list a project's webhooks (never a secret)", 1, true,
		noFlags(func(pos []string) request { return get(base(pos[0])) }),
		func(env *Env, list *webhooks, _ []string) { printWebhooks(env, list.Items) })

	show := answerCmd(env, "get PROJECT ID", "show a webhook (never its secret)", 2, true,
		noFlags(func(pos []string) request { return get(one(pos)) }),
		func(env *Env, hook *lathe.Webhook, _ []string) { printWebhooks(env, []*lathe.Webhook{hook}) })

	update := answerCmd(env, "update PROJECT ID [--url URL] [--event run|job ...] [--active=BOOL] [--secret-stdin]", "change a webhook's URL, events, whether it is active, or its secret", 2, false,
		func(fs *pflag.FlagSet) func([]string) (request, error) {
			to := fs.String("url", "", "the URL to POST to")
			evs := events(fs)
			active := fs.Bool("active", true, "send events (--active=false: pause the webhook)")
			chosen := secretStdin(fs)
			return func(pos []string) (request, error) {
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
				if err := addSecret(*chosen, in); err != nil {
					return request{}, err
				}
				if len(in) == 0 {
					fmt.Fprintln(env.Stderr, "lathe: nothing to change: give --url, --event, --active or --secret-stdin")
					return request{}, errUsage
				}
				return request{method: http.MethodPatch, path: one(pos), body: in}, nil
			}
		},
		func(env *Env, hook *lathe.Webhook, _ []string) {
			fmt.Fprintf(env.Stdout, "webhook %d of %s updated\n", hook.ID, field(hook.Project))
		})

	del := deleteCmd(env, "delete PROJECT ID", "delete a webhook and its deliveries, queued ones included", 2,
		func(pos []string) string { return one(pos) },
		func(pos []string) string {
			return fmt.Sprintf("webhook %s of %s deleted", field(pos[1]), field(pos[0]))
		})

	deliveries := answerCmd(env, "deliveries PROJECT ID", "list a webhook's deliveries, newest first, with the HTTP code of every try", 2, true,
		func(fs *pflag.FlagSet) func([]string) (request, error) {
			page := pageFlags(fs, "deliveries", 20, 200)
			return func(pos []string) (request, error) {
				return get(one(pos) + "/deliveries?" + page.query(url.Values{})), nil
			}
		},
		func(env *Env, page *lathe.Page[*lathe.Delivery], _ []string) {
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
			printMore(env, page.Next)
		})

	redeliver := answerCmd(env, "redeliver PROJECT ID DELIVERY", "send a delivery's message again (same webhook-id, signed anew), at once", 3, true,
		noFlags(func(pos []string) request {
			return request{method: http.MethodPost, path: one(pos) + "/deliveries/" + url.PathEscape(pos[2]) + "/redeliver"}
		}),
		func(env *Env, d *lathe.Delivery, pos []string) {
			fmt.Fprintf(env.Stdout, "delivery %d queued: %s of webhook %s sent again (delivery %s)\n", d.ID, field(d.Context), field(pos[1]), field(pos[2]))
		})

	return group("webhook", "manage a project's outgoing webhooks (create, list, get, update, delete) and their deliveries (deliveries, redeliver)", webhookLong,
		create, list, show, update, del, deliveries, redeliver)
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
