package cli

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"
)

// pipelineDetail is one pipeline of a project as GET
// /api/v1/projects/{project}/pipelines/{pipeline} answers it.
type pipelineDetail struct {
	Name     string   `json:"name"`
	File     string   `json:"file"`
	Commit   string   `json:"commit"`
	Ref      string   `json:"ref"`
	Stages   []string `json:"stages"`
	Triggers struct {
		Push *struct {
			Branches []string `json:"branches"`
			Tags     []string `json:"tags"`
		} `json:"push"`
		PullRequest *struct {
			Branches []string `json:"branches"`
		} `json:"pull_request"`
		Schedules []struct {
			Cron   string `json:"cron"`
			Branch string `json:"branch"`
		} `json:"schedules"`
		Manual  bool     `json:"manual"`
		Webhook bool     `json:"webhook"`
		After   []string `json:"after"`
	} `json:"triggers"`
	Params []struct {
		Name     string   `json:"name"`
		Type     string   `json:"type"`
		Default  *string  `json:"default"`
		Choices  []string `json:"choices"`
		Required bool     `json:"required"`
	} `json:"params"`
	Jobs []struct {
		Name    string   `json:"name"`
		Stage   string   `json:"stage"`
		Deps    []string `json:"deps"`
		Extends []string `json:"extends"`
		Matrix  *struct {
			Combinations []map[string]string `json:"combinations"`
		} `json:"matrix"`
	} `json:"jobs"`
	Branches []struct {
		Branch    string    `json:"branch"`
		RunID     int64     `json:"run_id"`
		Number    int64     `json:"number"`
		Status    string    `json:"status"`
		CreatedAt time.Time `json:"created_at"`
	} `json:"branches"`
}

// showPipeline prints one pipeline: what starts it, its parameters, its
// jobs and its newest run on each branch.
func showPipeline(ctx context.Context, env *Env, do doFunc, o *output, project, name, ref string) int {
	var p pipelineDetail
	path := "/api/v1/projects/" + url.PathEscape(project) + "/pipelines/" + url.PathEscape(name) + "?ref=" + url.QueryEscape(ref)
	if err := o.wrap(do)(ctx, http.MethodGet, path, nil, &p); err != nil {
		return fail(env, err)
	}
	if o.structured() {
		return o.print(env, p)
	}
	fmt.Fprintf(env.Stdout, "pipeline %s (%s at %.12s)\n", field(p.Name), field(p.File), p.Commit)
	var on []string
	if t := p.Triggers.Push; t != nil {
		on = append(on, "push"+filterNote("branches", t.Branches)+filterNote("tags", t.Tags))
	}
	if t := p.Triggers.PullRequest; t != nil {
		on = append(on, "pull_request"+filterNote("branches", t.Branches))
	}
	for _, s := range p.Triggers.Schedules {
		on = append(on, "schedule "+field(s.Cron)+filterNote("branch", nonEmpty(s.Branch)))
	}
	if p.Triggers.Manual {
		on = append(on, "manual")
	}
	if p.Triggers.Webhook {
		on = append(on, "webhook")
	}
	if len(p.Triggers.After) > 0 {
		on = append(on, "after "+fields(p.Triggers.After))
	}
	fmt.Fprintf(env.Stdout, "on: %s\n", strings.Join(on, "; "))
	for _, prm := range p.Params {
		def := "no default"
		if prm.Default != nil {
			def = "default " + field(*prm.Default)
		}
		if prm.Required {
			def = "required"
		}
		choices := ""
		if len(prm.Choices) > 0 {
			choices = ", one of " + fields(prm.Choices)
		}
		fmt.Fprintf(env.Stdout, "param %s (%s, %s%s)\n", field(prm.Name), field(prm.Type), def, choices)
	}
	for _, j := range p.Jobs {
		extra := ""
		if len(j.Extends) > 0 {
			extra += ", extends " + fields(j.Extends)
		}
		if j.Matrix != nil {
			extra += fmt.Sprintf(", matrix of %d", len(j.Matrix.Combinations))
		}
		fmt.Fprintf(env.Stdout, "  %-12s %-20s needs %s%s\n", field(j.Stage), field(j.Name), fields(j.Deps), extra)
	}
	if len(p.Branches) > 0 {
		tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
		paint := newPainter(env)
		fmt.Fprintf(tw, "BRANCH\tRUN\t#\t%s\tSTARTED\n", paint.header("STATUS"))
		for _, b := range p.Branches {
			fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\n", field(b.Branch), b.RunID, b.Number, paint.status(b.Status), b.CreatedAt.Local().Format("2006-01-02 15:04"))
		}
		tw.Flush()
	}
	return 0
}

// filterNote is " (what: a, b)", or "" for no values.
func filterNote(what string, values []string) string {
	if len(values) == 0 {
		return ""
	}
	return " (" + what + ": " + fields(values) + ")"
}

func nonEmpty(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}
