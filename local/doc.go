// Package local runs a pipeline on this machine with no server: it is what
// `lathe exec` calls. It reads the pipeline files from a directory with the
// server's file rules, plans the run with the pipeline package's Plan
// (matrix, conditions, parameters), lets the engine decide which jobs are
// ready, skipped or canceled, and runs each job's steps through the same
// shell executor and job environment as an agent. Running the real engine and executor, rather than a look-alike,
// is the point: a pipeline that passes `lathe exec` behaves the same on the
// server.
//
// Steps run in the directory itself, not in a fresh checkout, so that
// uncommitted changes are what gets tested; jobs therefore share one working
// tree, which is why they run one at a time unless asked otherwise.
//
// The package must not talk to a server, open a database or touch the
// network; it depends on the pipeline language, the engine, the executor and
// the server's file rule (pipeline.IsFile), and writes everything a
// user sees to one writer.
package local
