package pipeline

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"regexp"

	"github.com/lathe-ci/lathe"
)

//go:generate go test -run TestSchemaFile -update-schema .

// schemaFile is the committed JSON Schema; TestSchemaFile keeps it equal to
// generateSchema's output.
//
//go:embed schema.json
var schemaFile []byte

// Schema returns the JSON Schema (draft 2020-12) of pipeline files, for
// editors to validate and complete them. It is generated from the same
// key tables the parser checks against, so the two cannot drift: a key
// the parser accepts and the schema lacks fails the package's tests.
func Schema() []byte { return schemaFile }

// js is a JSON Schema fragment.
type js = map[string]any

func str(desc string) js     { return js{"type": "string", "description": desc} }
func boolean(desc string) js { return js{"type": "boolean", "description": desc} }
func enum(desc string, values []string) js {
	return js{"type": "string", "enum": values, "description": desc}
}

// stringOrList is one string or a list of them.
func stringOrList(desc string) js {
	return js{"description": desc, "oneOf": []js{{"type": "string"}, {"type": "array", "items": js{"type": "string"}}}}
}

// object is a map with exactly the given keys, described by props.
func object(desc string, keys []string, props map[string]js, required ...string) js {
	p := js{}
	for _, k := range keys {
		s, ok := props[k]
		if !ok {
			panic(fmt.Sprintf("schema: no description of key %q", k))
		}
		p[k] = s
	}
	o := js{"type": "object", "description": desc, "properties": p, "additionalProperties": false}
	if len(required) > 0 {
		o["required"] = required
	}
	return o
}

// generateSchema builds the schema from the parser's key tables.
func generateSchema() []byte {
	cond := str("An expression such as branch == \"main\" && event == \"push\"; see the expression language.")
	when := object("Conditions under which the job runs; all given ones must hold.", whenKeys, map[string]js{
		"branches":     stringOrList("Branch globs the event's branch must match."),
		"events":       js{"description": "Events the job runs for.", "oneOf": []js{enum("", eventKinds), {"type": "array", "items": enum("", eventKinds)}}},
		"paths":        stringOrList("Globs at least one changed path must match."),
		"paths-ignore": stringOrList("Globs of paths whose changes alone do not run the job."),
		"if":           cond,
	})
	env := js{"type": "object", "description": "Environment variables, NAME: value.", "propertyNames": js{"pattern": envNamePattern},
		"additionalProperties": js{"type": []string{"string", "number", "boolean", "null"}}}
	globs := stringOrList("Globs relative to the workspace.")
	secretName := js{"type": "string", "pattern": envNamePattern}
	secrets := js{"description": "Secrets to receive as env variables: names of secrets stored on the server, or a map of NAME: stored or NAME: {encrypted: ...} as lathe encrypt prints it.", "oneOf": []js{
		{"type": "array", "items": secretName},
		{"type": "object", "propertyNames": secretName, "additionalProperties": js{"oneOf": []js{
			enum("A secret stored on the server.", []string{storedSecret}),
			object("A value sealed with the project's public key.", encryptedSecretKeys, map[string]js{
				"encrypted": js{"type": "string", "pattern": `^\s*` + regexp.QuoteMeta(lathe.EncryptedPrefix) + `[A-Za-z0-9+/=\s]+$`, "description": "What lathe encrypt printed."}}, "encrypted"),
		}}},
	}}
	action := func(desc string, keys []string, props map[string]js, required ...string) js {
		o := object(desc, keys, props, required...)
		if len(required) == 0 {
			return js{"oneOf": []js{o, {"type": "null"}}}
		}
		return o
	}
	stepProps := map[string]js{
		"name":         str("The step's name in logs; defaults to its command."),
		"run":          str("The shell command to run."),
		ActionCheckout: action("Check out the run's commit.", checkoutKeys, map[string]js{"depth": js{"type": "integer", "minimum": 0, "description": "Commits of history; 0 for all."}}),
		ActionUpload:   action("Store files for later jobs of the run.", uploadKeys, map[string]js{"name": str("Name of the set of files."), "paths": globs}, "name", "paths"),
		ActionDownload: action("Fetch files an earlier job uploaded.", downloadKeys, map[string]js{"name": str("Name of the set of files.")}, "name"),
		"uses":         js{"type": "string", "pattern": `^[a-z0-9][a-z0-9._-]*@[A-Za-z0-9][A-Za-z0-9._+-]*$`, "description": "Run a published tool, NAME@VERSION (see `lathe tool list`)."},
		"with": js{"type": "object", "description": "A tool step's parameters; each reaches the tool as INPUT_<NAME> (upper case, '-' as '_'). Checked against the tool's manifest when a run is planned.",
			"propertyNames":        js{"pattern": validToolParam().String()},
			"additionalProperties": js{"type": []string{"string", "number", "boolean"}}},
	}
	step := js{"oneOf": []js{str("A shell command."), object("A step: a command or a built-in action.", stepKeys, stepProps)}}
	name := js{"type": "string", "pattern": namePattern}
	jobProps := map[string]js{
		"stage":       str("The stage the job runs in."),
		"runs-on":     stringOrList("Agent labels the job needs."),
		"timeout":     js{"description": "Duration like 10m or whole seconds; a fraction of a second is rounded up (500ms is 1s).", "type": []string{"string", "integer"}},
		"env":         env,
		"needs":       stringOrList("Jobs this one waits for; [] for none."),
		"steps":       js{"type": "array", "minItems": 1, "items": step, "description": "The steps to run, in order."},
		"concurrency": js{"description": "A semaphore the job holds while it runs.", "oneOf": []js{str("Group name (limit 1)."), object("Group and limit.", concurrencyKeys, map[string]js{"group": str("Semaphore name."), "limit": js{"type": "integer", "minimum": 1, "maximum": MaxConcurrencyLimit}}, "group")}},
		"extends":     stringOrList("Jobs or templates to inherit fields from; fields written here override, env merges."),
		"matrix": js{"type": "object", "description": "Run the job once per combination of values.",
			"properties": js{
				"include": js{"type": "array", "items": js{"type": "object"}, "description": "Extra combinations."},
				"exclude": js{"type": "array", "items": js{"type": "object"}, "description": "Partial combinations to leave out."},
			},
			"propertyNames":        js{"pattern": identPattern},
			"additionalProperties": js{"type": "array", "minItems": 1, "items": js{"type": []string{"string", "number", "boolean"}}}},
		"when":          when,
		"if":            cond,
		"retry":         js{"description": "Retries of a failed job.", "oneOf": []js{{"type": "integer", "minimum": 0, "maximum": MaxRetries}, object("Retry policy.", retryKeys, map[string]js{"count": js{"type": "integer", "minimum": 0, "maximum": MaxRetries}, "on": js{"oneOf": []js{enum("", retryOn), {"type": "array", "items": enum("", retryOn)}}}}, "count")}},
		"allow_failure": boolean("Let the run succeed when this job fails."),
		"secrets":       secrets,
		"environment":   js{"description": "The environment this job deploys to.", "oneOf": []js{str("Environment name."), object("Environment.", environmentKeys, map[string]js{"name": str("Environment name."), "url": js{"type": "string", "format": "uri"}}, "name")}},
		"approval":      js{"description": "A gate: the job waits until someone confirms.", "oneOf": []js{boolean(""), object("Approval.", approvalKeys, map[string]js{"from": stringOrList("Users or teams who may confirm."), "message": str("Shown to them.")})}},
		"artifacts":     js{"description": "Files to keep after the job.", "oneOf": []js{globs, object("Artifacts.", artifactKeys, map[string]js{"paths": globs, "expire_in": str("How long to keep them: 12h, 7d, 2w."), "when": enum("When to keep them.", artifactWhens)}, "paths")}},
		"reports":       object("Result files the job writes, sent to the server after the steps (also when they fail).", reportKeys, map[string]js{"junit": globs, "issues": globs}),
		"image":         js{"type": "string", "pattern": imageSchemaPattern(), "description": "Run the job in a container of this image (NAME[:TAG], which may hold {{ matrix.AXIS }} and {{ params.NAME }}); its steps run inside it, the workspace at the same path. The job then needs an agent with a container executor."},
		"services": js{"type": "array", "description": "Containers started beside the job's, reachable by name, removed with the job.", "items": js{"oneOf": []js{
			js{"type": "string", "pattern": validImage().String(), "description": "An image; the service is reached by its last path component (postgres:16 as postgres)."},
			object("A service.", serviceKeys, map[string]js{
				"name":    js{"type": "string", "pattern": validServiceName().String(), "description": "Host name the job reaches it by."},
				"image":   js{"type": "string", "pattern": imageSchemaPattern(), "description": "The service's image; it may hold {{ matrix.AXIS }} and {{ params.NAME }}, as may env values and command arguments."},
				"env":     env,
				"command": js{"description": "Arguments replacing the image's command.", "oneOf": []js{{"type": "string"}, {"type": "array", "minItems": 1, "items": js{"type": "string"}}}},
				"ready":   str("A command run inside the service until it exits 0; without it, the job waits until the ports the image exposes accept connections."),
				"timeout": js{"description": "How long to wait for the service to be ready (default 60s): a duration like 2m or whole seconds; a fraction of a second is rounded up.", "type": []string{"string", "integer"}},
			}, "image"),
		}}},
		"pull": enum("When the agent pulls the image: if-not-present (the default), always or never.", pullPolicies),
		"resources": object("Limits of the job's container.", resourceKeys, map[string]js{
			"cpus":   js{"type": []string{"number", "string"}, "description": "CPUs the container may use, like 2 or 0.5."},
			"memory": js{"type": []string{"string", "integer"}, "description": "Memory limit: bytes, or a number with k, m or g, like 4g."},
		}),
		"cache": func() js {
			entry := object("A cache: saved after a successful job when its key is new, restored before the steps of later jobs of the project.", cacheKeys, map[string]js{
				"key":          str("The cache's key; {{ hashFiles('go.sum', …) }} is replaced by the hash of the files the globs match in the checkout."),
				"restore_keys": stringOrList("Key prefixes to fall back to, in order, when no cache has the exact key: the newest cache whose key starts with one is restored."),
				"paths":        stringOrList("Directories or files to cache, relative to the workspace, or to the job's home when they start with ~/."),
			}, "key", "paths")
			return js{"description": "Caches of the job (one, or a list of at most 10).", "oneOf": []js{entry, {"type": "array", "items": entry, "maxItems": MaxCaches}}}
		}(),
	}
	job := object("A job: steps an agent runs.", jobKeys, jobProps)
	template := object("Job fields other jobs inherit with extends.", jobKeys, jobProps)
	job["required"] = []string{"steps"}
	param := object("A parameter of manual runs.", paramKeys, map[string]js{
		"type":        enum("The value's type.", paramTypes),
		"default":     js{"type": []string{"string", "number", "boolean"}, "description": "Value used when none is given."},
		"choices":     js{"type": "array", "items": js{"type": []string{"string", "number", "boolean"}}, "description": "Allowed values of a choice."},
		"description": str("Shown on the run form."),
		"required":    boolean("The caller must give a value."),
	})
	branches := func(desc string) js { return stringOrList(desc) }
	nullOr := func(o js) js { return js{"oneOf": []js{o, {"type": "null"}}} }
	on := object("The events that start runs.", triggerKeys, map[string]js{
		EventPush:        nullOr(object("Pushes.", pushKeys, map[string]js{"branches": branches("Branch globs."), "tags": branches("Tag globs.")})),
		EventPullRequest: nullOr(object("Pull requests.", prKeys, map[string]js{"branches": branches("Globs of target branches.")})),
		EventSchedule:    js{"type": "array", "minItems": 1, "items": object("A cron schedule.", scheduleKeys, map[string]js{"cron": str("Five fields (minute hour day month weekday) or @daily."), "branch": str("Branch to run; the default branch when absent.")}, "cron")},
		EventManual:      nullOr(object("Runs started by a person.", nil, nil)),
		EventWebhook:     nullOr(object("Runs started by the token webhook.", nil, nil)),
		EventPipeline:    object("Runs after other pipelines succeed on the commit.", upstreamKeys, map[string]js{"after": stringOrList("Pipeline names.")}, "after"),
	})
	top := object("A Lathe pipeline file (.lathe.yml or .lathe/*.yml).", topKeys, map[string]js{
		"name":        name,
		"on":          js{"oneOf": []js{on, {"type": "array", "items": enum("", triggerKeys)}}},
		"parameters":  js{"type": "object", "propertyNames": js{"pattern": identPattern}, "additionalProperties": param, "description": "Parameters of manual runs."},
		"env":         env,
		"stages":      js{"type": "array", "minItems": 1, "items": js{"oneOf": []js{name, object("A stage an outside tool drives through PATCH /api/v1/stages/{stage}; it has no jobs.", externalStageKeys, map[string]js{"name": name, "external": boolean("An outside tool sets the stage's status; later stages wait for its success.")}, "name")}}, "description": "Stages in order."},
		"when":        when,
		"max-runs":    js{"type": "integer", "minimum": 1, "maximum": MaxMaxRuns, "description": "How many runs of the pipeline may be unfinished at once; another trigger is refused."},
		"auto_cancel": boolean("Cancel the pipeline's older queued or running runs of a branch (pushes) or of a pull request when a run of a newer commit of it starts."),
		"numbering":   enum("How runs are numbered (LATHE_RUN_NUMBER): per-pipeline, one sequence (the default); per-branch, one sequence per branch (runs on no branch, such as tags and pull requests, take the pipeline's).", numberings),
		"templates":   js{"type": "object", "additionalProperties": template, "description": "Job fields to inherit with extends."},
		"jobs":        js{"type": "object", "minProperties": 1, "additionalProperties": job, "description": "The jobs, by name."},
	}, "jobs")
	top["$schema"] = "https://json-schema.org/draft/2020-12/schema"
	top["title"] = "Lathe pipeline"
	out, err := json.MarshalIndent(top, "", "  ")
	if err != nil {
		panic(err)
	}
	return append(out, '\n')
}
