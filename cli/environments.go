package cli

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	lathe "github.com/lathe-ci/lathe"
)

const environmentLong = `An environment is a place a project's release candidates are deployed to
(staging, production, ...), in promotion order (--position, lowest first).
Its protection rules live on the server, never in a pipeline file: a
protected environment's deployments wait for an approval by one of its
approvers (user:NAME, team:NAME or role:read|write|owner), and with
--second-person the deployer may not approve their own deployment.
With --deploy-pipeline a deployment runs that pipeline (lathe deploy);
without, an outside CD reports its deployments (lathe environment report).
(What runs where: lathe environments PROJECT; the history: lathe deployments.)`

// environmentCmd manages a project's environments and reads or reports
// their deployments.
func environmentCmd(env *Env) *cobra.Command {
	base := func(project string) string {
		return "/api/v1/projects/" + url.PathEscape(project) + "/environments"
	}
	one := func(project, name string) string { return base(project) + "/" + url.PathEscape(name) }

	type environments lathe.Page[*lathe.Environment]
	list := answerCmd(env, "list [PROJECT]", "list a project's environments in promotion order, or without PROJECT those of every project you may read, newest project first", -1, false,
		func(fs *pflag.FlagSet) func([]string) (request, error) {
			page := pageFlags(fs, "projects, without PROJECT,", 20, 50)
			return func(pos []string) (request, error) {
				switch len(pos) {
				case 0:
					return get("/api/v1/environments?" + page.query(url.Values{})), nil
				case 1:
					return get(base(pos[0])), nil
				}
				return request{}, errUsage
			}
		},
		func(env *Env, list *environments, pos []string) {
			printEnvironments(env, list.Items, len(pos) == 0)
			printMore(env, list.Next)
		})

	// settings declares the flags of create and update; apply sets on e
	// those the command line gives (create: all of them, as given or
	// their defaults).
	type settings struct {
		position       *int
		deployPipeline *string
		protected      *bool
		approvers      *[]string
		noApprovers    *bool
		secondPerson   *bool
	}
	declare := func(fs *pflag.FlagSet, update bool) *settings {
		s := &settings{
			position:       fs.Int("position", 0, "promotion order, lowest first (0 to 1000)"),
			deployPipeline: fs.String("deploy-pipeline", "", "the pipeline a deployment runs (it declares the parameters version and environment); empty: an outside CD reports deployments"),
			protected:      fs.Bool("protected", false, "deployments wait for an approval by one of the approvers"),
			approvers:      fs.StringArray("approver", nil, "who may approve: user:NAME, team:NAME or role:ROLE (read, write, owner); repeat for more"),
			secondPerson:   fs.Bool("second-person", false, "the deployer may not approve their own deployment"),
		}
		if update {
			fs.Lookup("protected").Usage += " (--protected=false: not)"
			fs.Lookup("second-person").Usage += " (--second-person=false: they may)"
			fs.Lookup("approver").Usage += "; replaces the list"
			fs.Lookup("deploy-pipeline").Usage = "the pipeline a deployment runs; --deploy-pipeline '': none, an outside CD reports deployments"
			s.noApprovers = fs.Bool("no-approvers", false, "clear the list of approvers")
		}
		return s
	}
	apply := func(fs *pflag.FlagSet, s *settings, e *lathe.Environment) (changed bool) {
		if fs.Changed("position") {
			e.Position, changed = *s.position, true
		}
		if fs.Changed("deploy-pipeline") {
			e.DeployPipeline, changed = *s.deployPipeline, true
		}
		if fs.Changed("protected") {
			e.Protected, changed = *s.protected, true
		}
		if fs.Changed("approver") {
			e.Approvers, changed = *s.approvers, true
		}
		if s.noApprovers != nil && *s.noApprovers {
			e.Approvers, changed = []string{}, true
		}
		if fs.Changed("second-person") {
			e.SecondPerson, changed = *s.secondPerson, true
		}
		return changed
	}
	// input is the body of a PUT (EnvironmentUpdate: the path names the
	// environment); a POST adds the name.
	input := func(e *lathe.Environment) map[string]any {
		approvers := e.Approvers
		if approvers == nil {
			approvers = []string{}
		}
		return map[string]any{"position": e.Position, "deploy_pipeline": e.DeployPipeline,
			"protected": e.Protected, "approvers": approvers, "second_person": e.SecondPerson}
	}

	create := answerCmd(env, "create PROJECT NAME", "create an environment of a project", 2, false,
		func(fs *pflag.FlagSet) func([]string) (request, error) {
			s := declare(fs, false)
			return func(pos []string) (request, error) {
				e := &lathe.Environment{Name: pos[1], Approvers: []string{}}
				apply(fs, s, e)
				in := input(e)
				in["name"] = e.Name
				return request{method: http.MethodPost, path: base(pos[0]), body: in}, nil
			}
		},
		func(env *Env, got *lathe.Environment, pos []string) {
			fmt.Fprintf(env.Stdout, "environment %s of %s created (position %d)\n", field(got.Name), field(pos[0]), got.Position)
		})

	show := answerCmd(env, "get PROJECT NAME", "show an environment and its protection rules", 2, false,
		noFlags(func(pos []string) request { return get(one(pos[0], pos[1])) }),
		func(env *Env, e *lathe.Environment, _ []string) {
			printEnvironments(env, []*lathe.Environment{e}, false)
		})

	update := env.leaf("update PROJECT NAME", "change an environment's settings: only those the flags give (the name stays)", func(fs *pflag.FlagSet) body {
		mk := clientFlags(fs, env)
		s := declare(fs, true)
		out := outputFlags(fs, false)
		return func(ctx context.Context, pos []string) int {
			if len(pos) != 2 {
				return badUsage
			}
			if *s.noApprovers && fs.Changed("approver") {
				return fail(env, fmt.Errorf("--no-approvers and --approver: give one"))
			}
			c := mk()
			// The API's PUT replaces every setting: start from the current ones.
			var e lathe.Environment
			if err := c.Do(ctx, http.MethodGet, one(pos[0], pos[1]), nil, &e); err != nil {
				return fail(env, err)
			}
			if !apply(fs, s, &e) {
				return fail(env, fmt.Errorf("nothing to change: give --position, --deploy-pipeline, --protected, --approver, --no-approvers or --second-person"))
			}
			var got lathe.Environment
			if err := out.wrap(c.Do)(ctx, http.MethodPut, one(pos[0], pos[1]), input(&e), &got); err != nil {
				return fail(env, err)
			}
			if out.structured() {
				return out.print(env, got)
			}
			fmt.Fprintf(env.Stdout, "environment %s of %s updated\n", field(got.Name), field(pos[0]))
			return 0
		}
	})

	del := env.leaf("delete PROJECT NAME --yes", "delete an environment with its deployment history (asks for --yes)", func(fs *pflag.FlagSet) body {
		mk := clientFlags(fs, env)
		yes := fs.Bool("yes", false, "yes, delete the environment and its whole deployment history")
		return func(ctx context.Context, pos []string) int {
			if len(pos) != 2 {
				return badUsage
			}
			if !*yes {
				return fail(env, fmt.Errorf("deleting environment %s of %s deletes its deployment history too; give --yes to do it", field(pos[1]), field(pos[0])))
			}
			if err := mk().Do(ctx, http.MethodDelete, one(pos[0], pos[1]), nil, nil); err != nil {
				return fail(env, err)
			}
			fmt.Fprintf(env.Stdout, "environment %s of %s deleted, with its deployment history\n", field(pos[1]), field(pos[0]))
			return 0
		}
	})

	deployment := answerCmd(env, "deployment PROJECT ENV ID", "show one deployment of an environment: its status, gate and why it waits", 3, false,
		func(*pflag.FlagSet) func([]string) (request, error) {
			return func(pos []string) (request, error) {
				id, err := strconv.ParseInt(pos[2], 10, 64)
				if err != nil || id <= 0 {
					return request{}, fmt.Errorf("%q is not a deployment ID", pos[2])
				}
				return get(one(pos[0], pos[1]) + "/deployments/" + strconv.FormatInt(id, 10)), nil
			}
		},
		func(env *Env, d *lathe.Deployment, _ []string) { printDeployment(env, d) })

	report := answerCmd(env, "report PROJECT ENV VERSION-rcN STATUS",
		"report the status of a deployment an outside CD made ("+strings.Join(lathe.DeploymentStatuses, ", ")+")", 4, true,
		noFlags(func(pos []string) request {
			in := map[string]string{"release_candidate_version": pos[2], "status": pos[3]}
			return request{method: http.MethodPatch, path: one(pos[0], pos[1]) + "/deployments", body: in}
		}),
		func(env *Env, d *lathe.Deployment, _ []string) {
			fmt.Fprintf(env.Stdout, "deployment %d: %s to %s, %s\n", d.ID, field(d.Version), field(d.Environment), d.Status)
		})
	report.Long = "An outside CD reports a deployment's status: the candidate's latest reported\n" +
		"deployment to the environment takes it, or a new one when there is none; no\n" +
		"pipeline starts. STATUS is one of: " + strings.Join(lathe.DeploymentStatuses, ", ") + ".\n" +
		"A report that starts a deployment (pending, in_progress) is refused while a\n" +
		"deployment the server runs there is unfinished."
	del.Long = "Delete an environment. Its whole deployment history goes with it, so the\n" +
		"command does nothing without --yes."

	return group("environment", "manage a project's environments (list, create, get, update, delete); show or report a deployment", environmentLong,
		list, create, show, update, del, deployment, report)
}

// printEnvironments prints one line per environment; withProject adds
// the project's name (a list across projects).
func printEnvironments(env *Env, es []*lathe.Environment, withProject bool) {
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	if withProject {
		fmt.Fprint(tw, "PROJECT\t")
	}
	fmt.Fprintln(tw, "NAME\tPOSITION\tDEPLOY PIPELINE\tPROTECTED\tAPPROVERS\tSECOND PERSON")
	for _, e := range es {
		if withProject {
			fmt.Fprintf(tw, "%s\t", field(e.Project))
		}
		pipeline, approvers := field(e.DeployPipeline), fields(e.Approvers)
		if pipeline == "" {
			pipeline = "-"
		}
		if approvers == "" {
			approvers = "-"
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%t\t%s\t%t\n", field(e.Name), e.Position, pipeline, e.Protected, approvers, e.SecondPerson)
	}
	tw.Flush()
}

// printDeployment prints a deployment, one field a line.
func printDeployment(env *Env, d *lathe.Deployment) {
	paint := newPainter(env)
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	at := func(label, v string) {
		if v != "" {
			fmt.Fprintf(tw, "%s:\t%s\n", label, v)
		}
	}
	id := func(n int64) string {
		if n == 0 {
			return ""
		}
		return strconv.FormatInt(n, 10)
	}
	at("deployment", strconv.FormatInt(d.ID, 10))
	at("project", field(d.Project))
	at("environment", field(d.Environment))
	at("status", paint.status(d.Status))
	version := field(d.Version)
	if version == "" {
		version = "- (a commit a pipeline job deployed)"
	}
	at("version", version)
	at("commit", d.Commit)
	at("run", id(d.RunID))
	at("job", id(d.JobID))
	at("by", field(d.CreatedBy))
	at("created", d.CreatedAt.Local().Format("2006-01-02 15:04:05"))
	at("updated", d.UpdatedAt.Local().Format("2006-01-02 15:04:05"))
	at("waits", field(d.WaitReason))
	if g := d.Gate; g != nil {
		gate := gateAnswer(g)
		switch {
		case gate != "":
		case d.Status == "waiting_for_approval":
			gate = "waiting for approval"
		default:
			gate = "not answered"
		}
		at("gate", gate)
		at("gate job", id(d.GateJobID))
		at("gate message", field(g.Message))
		if len(g.From) > 0 {
			at("approvers", fields(g.From))
		}
		at("not by", field(g.NotBy))
		at("comment", field(g.Comment))
	}
	tw.Flush()
}

// gateAnswer says who answered a gate and when; "" while it is unanswered.
func gateAnswer(g *lathe.Approval) string {
	var answer string
	var when *time.Time
	switch {
	case g.RejectedBy != "":
		answer, when = "rejected by "+field(g.RejectedBy), g.RejectedAt
	case g.ApprovedBy != "":
		answer, when = "approved by "+field(g.ApprovedBy), g.ApprovedAt
	default:
		return ""
	}
	if when != nil {
		answer += " at " + when.Local().Format("2006-01-02 15:04:05")
	}
	return answer
}
