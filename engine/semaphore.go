package engine

import "fmt"

// SemaphoreWait is semaphore admission: the wait reason of a job of group
// when held of its limit slots are taken, as "waiting for semaphore deploy
// (1/1 held)", or "" when a slot is free (or no limit is in force: 0). The
// store counts the holders (the group's running jobs of the project) and the
// limit in force (the smallest among the group's queued or running jobs)
// under the semaphore's lock.
func SemaphoreWait(group string, held, limit int) string {
	if limit <= 0 || held < limit {
		return ""
	}
	return fmt.Sprintf("waiting for semaphore %s (%d/%d held)", group, held, limit)
}
