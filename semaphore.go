package lathe

import "time"

// Semaphores (Zuul's): a job that names a concurrency group runs only while
// fewer than the group's limit of jobs holding that group run, across every
// run of its project. A job waiting for a slot stays queued, with a wait
// reason saying so.

// Concurrency is a job's claim on a semaphore.
type Concurrency struct {
	// Group names the semaphore; it is scoped to the job's project.
	Group string `json:"group"`
	// Limit is how many jobs holding Group may run at once (at least 1).
	// When jobs disagree, the smallest limit among the jobs holding or
	// waiting for the group applies, so no job ever runs beside more
	// holders than its own limit allows.
	Limit int `json:"limit"`
}

// Semaphore is the state of one concurrency group of a project.
type Semaphore struct {
	Name    string `json:"name"`
	Project string `json:"project"`
	// Limit is the limit in force: the smallest of the jobs now holding or
	// waiting for the semaphore, or the last one seen when there are none.
	Limit int `json:"limit"`
	// Holders are the running attempts of jobs in the group, oldest first.
	Holders []SemaphoreHolder `json:"holders"`
	// Waiters are the queued jobs of the group, in the order they will be
	// considered for a claim.
	Waiters []SemaphoreWaiter `json:"waiters"`
}

// SemaphoreHolder is a running attempt that holds a semaphore.
type SemaphoreHolder struct {
	JobID     int64     `json:"job_id"`
	Job       string    `json:"job"`
	AttemptID int64     `json:"attempt_id"`
	RunID     int64     `json:"run_id"`
	Pipeline  string    `json:"pipeline"`
	RunNumber int64     `json:"run_number"`
	Agent     string    `json:"agent"`
	Since     time.Time `json:"since"`
}

// SemaphoreWaiter is a queued job waiting for a semaphore.
type SemaphoreWaiter struct {
	JobID     int64      `json:"job_id"`
	Job       string     `json:"job"`
	RunID     int64      `json:"run_id"`
	Pipeline  string     `json:"pipeline"`
	RunNumber int64      `json:"run_number"`
	QueuedAt  *time.Time `json:"queued_at"`
}
