// Package pipeline is Lathe's pipeline language: it parses the YAML files a
// project keeps in its repository (.lathe.yml or .lathe/*.yml), validates
// them, and plans the jobs a run executes.
//
// The package is pure. It does no I/O, opens no network connection and
// touches no database: callers read the files and pass their bytes in. That
// is what lets the server, `lathe exec`, `lathe plan` and `lathe lint` share
// exactly the same code, so a pipeline that lints clean locally is the
// pipeline the server runs. It depends only on the root lathe package (for
// EnvVar and StepDef), its expr sub-package, the YAML parser, a glob matcher
// and a cron parser, and must never import the store, engine, api or agent
// packages, or anything else that does I/O.
//
// Every problem is reported as an [Error] carrying the file, line, column
// and field path, and [Parse] reports all problems at once in an
// [ErrorList] rather than stopping at the first. [Lint] also returns
// warnings: things allowed but probably not meant.
//
// # The format
//
// Top-level keys: name, on (triggers), parameters, env, stages, when,
// max-runs, auto_cancel, numbering, templates and jobs. A job has stage, runs-on, timeout, env, needs, steps,
// concurrency, extends, matrix, when, if, retry, allow_failure, secrets,
// environment, approval, artifacts, reports, cache, and the container keys
// image, services, pull and resources (a job with an image runs in a
// container of it, its services beside it; such a job also needs the label
// executor:container, added to its runs-on). [Schema] is the JSON Schema
// of all of it, generated from the parser's own key tables.
//
// A plan turns `cache:` and `artifacts:` into the agent's own steps (see
// lathe.StepAction): a cache_restore before the job's steps, then an
// artifacts step (which runs after a failure too when `when:` says so),
// then a cache_save. A cache key's `{{ hashFiles('go.sum') }}` is left for
// the agent to evaluate over the checkout; an upload's or download's
// `{{ matrix.AXIS }}` is replaced in the plan by the expansion's value,
// and so are the `{{ matrix.AXIS }}` and `{{ params.NAME }}` of a job's
// image and its services' images, env values and command arguments, and
// the `{{ params.NAME }}`, `{{ matrix.AXIS }}` and `{{ env.NAME }}` of its
// approval message.
//
// Parsing resolves `extends` (a job inherits the fields of jobs or
// templates it names; its own fields win and env merges), so
// [Pipeline.Jobs] are complete definitions. [Pipeline.Plan] then makes a
// run's jobs for an [Event] and parameters: it expands matrices (a job
// "test" becomes "test (go=1.22, os=linux)", with MATRIX_GO and MATRIX_OS),
// applies `when` conditions (leaving out a job whose conditions fail and
// every job that needs it), and builds each job's environment: pipeline
// env, then PARAM_* for parameters, then MATRIX_*, then the job's env.
//
// Conditions use the expression language of package expr: variables
// branch, tag, ref, commit, event, pipeline, upstream, params.NAME,
// env.NAME and matrix.NAME; ==, !=, =~ (glob match), !~, &&, ||, ! and
// changed("glob").
package pipeline
