package engine

import lathe "github.com/lathe-ci/lathe"

// eventPush is the push event's name (pipeline.EventPush; the engine
// depends on the domain only).
const eventPush = "push"

// Supersedes reports whether newer, a run just created of a pipeline that
// says `auto_cancel: true`, makes older needless, so that older is
// canceled: older is an unfinished, earlier run of the same pipeline at
// another commit, and either both build the same pull request, or both are
// pushes to the same branch. Runs started by hand, by a schedule, by a tag
// or by another pipeline supersede nothing, and a run of the same commit
// (a re-run, a hook delivered twice) does not replace its twin.
func Supersedes(newer, older *lathe.Run) bool {
	if older.ID >= newer.ID || older.ProjectID != newer.ProjectID || older.Pipeline != newer.Pipeline ||
		older.Status.Terminal() || older.Commit == newer.Commit {
		return false
	}
	if newer.PullRequest != 0 {
		return older.PullRequest == newer.PullRequest
	}
	return newer.Event == eventPush && newer.Branch != "" &&
		older.Event == eventPush && older.PullRequest == 0 && older.Branch == newer.Branch
}
