// Package local runs a pipeline on this machine with no server: it is what
// `lathe exec` calls. It reads the pipeline files from a directory with the
// server's file rules, plans the run with the pipeline package's Plan
// (matrix, conditions, parameters) for the event a server would see for the
// same push (RepoEvent: branch, tag and commit from the repository), lets
// the engine decide which jobs are ready, skipped or canceled, and runs each
// job's steps through the same executor (the bubblewrap sandbox by default)
// and job environment as an agent. Running the real engine and executor,
// rather than a look-alike, is the point: a pipeline that passes `lathe
// exec` behaves the same on the server.
//
// As on an agent, each job runs in a workspace of its own: a git worktree of
// the working tree as it is now (its uncommitted changes included, ignored
// files left out; see source), so a job finds only what it downloads from
// earlier jobs. Uploads and artifacts are kept under .lathe/exec/N in the
// directory (see store) instead of on a server. Options.SharedWorkspace
// instead runs every job in the directory itself, as the user.
//
// The package must not talk to a server, open a database or touch the
// network; it depends on the pipeline language, the engine, the executor,
// the agent's archives (agent.Pack, agent.Unpack) and the server's file rule
// (pipeline.IsFile), and writes everything a user sees to one writer.
package local
