package engine

import "fmt"

// SemaphoreWait is semaphore admission: the wait reason of a job of group
// when held of its limit slots are taken, naming the run of a holder (the
// oldest: holderRun), as "waiting for semaphore deploy (1/1 held) — run 12
// holds it", or "" when a slot is free (or no limit is in force: 0). The
// store counts the holders (the group's running jobs of the project) and the
// limit in force (the smallest among the group's queued or running jobs)
// under the semaphore's lock.
func SemaphoreWait(group string, held, limit int, holderRun int64) string {
	if limit <= 0 || held < limit {
		return ""
	}
	reason := fmt.Sprintf("waiting for semaphore %s (%d/%d held)", group, held, limit)
	switch {
	case holderRun <= 0:
		return reason
	case held == 1:
		return fmt.Sprintf("%s — run %d holds it", reason, holderRun)
	}
	return fmt.Sprintf("%s — run %d and %d more hold it", reason, holderRun, held-1)
}
