package lathe

import (
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// The agent protocol: agents dial out to the server, claim work by long-poll,
// and send everything else about an attempt (log bytes, step progress, the
// final result, and liveness) as Reports. One request kind keeps the agent's
// outbox simple: whatever is pending goes in the next report.

// Assignment is a claimed job: everything an agent needs to run one attempt.
type Assignment struct {
	AttemptID int64  `json:"attempt_id"`
	Attempt   int    `json:"attempt"`
	JobID     int64  `json:"job_id"`
	RunID     int64  `json:"run_id"`
	Project   string `json:"project"`
	// ProjectID is the project's ID, for the server.
	ProjectID int64  `json:"-"`
	RepoURL   string `json:"repo_url"`
	// RepoCredentials are the project URL's sealed credentials; the server
	// opens them into RepoURL for the agent that claims the job.
	RepoCredentials string `json:"-"`
	// SSHKey is the private key (OpenSSH PEM) the checkout uses when
	// RepoURL is an SSH URL: the project's own, else the server's. The
	// agent keeps it in a private file outside the workspace for the
	// checkout alone; no step sees it. Untrusted jobs get none.
	SSHKey string `json:"ssh_key,omitempty"`
	// SSHKnownHosts are the host keys the server met at the repository's
	// host (known_hosts lines, trusted on first use): the checkout accepts
	// no other.
	SSHKnownHosts string    `json:"ssh_known_hosts,omitempty"`
	Pipeline      string    `json:"pipeline"`
	RunNumber     int64     `json:"run_number"`
	Stage         string    `json:"stage"`
	Job           string    `json:"job"`
	Commit        string    `json:"commit"`
	Ref           string    `json:"ref"`
	Branch        string    `json:"branch"`
	Event         string    `json:"event"`
	Env           []EnvVar  `json:"env"`
	Steps         []StepDef `json:"steps"`
	TimeoutSec    int64     `json:"timeout_sec"`
	// LeaseTTLSec is the server's lease TTL: it runs the job elsewhere once
	// it has not heard from the agent for that long, so the agent stops the
	// steps when it has gone unheard for nearly that long (0: the agent's
	// own setting).
	LeaseTTLSec int64 `json:"lease_ttl_sec,omitempty"`
	// Container, when set, runs the job in a container.
	Container *JobContainer `json:"container,omitempty"`
	// Secrets are the values of the secrets the job names, resolved by the
	// server at claim time; the agent puts them in the steps' environment
	// and masks them in the log. They are never stored with the job.
	Secrets []EnvVar `json:"secrets,omitempty"`
	// SecretFiles names the secrets of Secrets whose kind is SecretFile:
	// the agent writes each value to a private file of the job and puts
	// the file's path, not the value, in the variable.
	SecretFiles []string `json:"secret_files,omitempty"`
	// SecretRefs are the secrets the job names, as stored with it; the
	// server resolves them into Secrets and never sends them.
	SecretRefs []JobSecret `json:"-"`
	// Untrusted is set for a job of an untrusted run: it gets no secrets,
	// and its agent keeps nothing of its workspace for another job.
	Untrusted bool `json:"untrusted,omitempty"`
	// FromAPI is set for a job of a run whose pipeline was posted through
	// the API: it gets no secrets either.
	FromAPI bool `json:"-"`
	// Environment is the environment the job deploys to ("" for none):
	// the server adds that environment's variables and secrets.
	Environment string `json:"-"`
	// Reports are the files the agent sends after the steps (see
	// ReportGlobs); nil when the job names none.
	Reports *ReportGlobs `json:"reports,omitempty"`
}

// Report carries an attempt's progress from its agent. Every field is
// optional; an empty report is a heartbeat. Reports are idempotent: log bytes
// are placed by offset and step states are upserted, so a resent report
// changes nothing.
type Report struct {
	// LogOffset is where Log starts in the attempt's log.
	LogOffset int64         `json:"log_offset"`
	Log       []byte        `json:"log,omitempty"`
	Steps     []StepReport  `json:"steps,omitempty"`
	Finish    *FinishReport `json:"finish,omitempty"`
}

// StepReport is the latest state of one step.
type StepReport struct {
	Index      int        `json:"index"`
	Name       string     `json:"name"`
	Status     Status     `json:"status"`
	ExitCode   *int       `json:"exit_code,omitempty"`
	LogStart   int64      `json:"log_start"`
	LogEnd     *int64     `json:"log_end,omitempty"`
	StartedAt  *time.Time `json:"started_at,omitempty"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`
}

// FinishReport ends an attempt. The server accepts it only once it holds
// LogSize bytes of log; until then it answers with the size it has, and the
// agent resends from there.
type FinishReport struct {
	// Status is the attempt's result. StatusLost hands the attempt back:
	// the agent is stopping before the job ended, and the server queues the
	// job again for a new attempt that does not use up its retries.
	Status  Status `json:"status"`
	LogSize int64  `json:"log_size"`
	// SHA256 is the hex SHA-256 of the whole log as the agent wrote it. When
	// given and the stored log hashes differently, the server keeps the
	// result but marks the attempt's log incomplete.
	SHA256 string `json:"sha256,omitempty"`
	// Workspace is the absolute path of the attempt's workspace on the
	// agent, recorded when a hold keeps it (see ReportReply.HoldUntil).
	Workspace string `json:"workspace,omitempty"`
	// Reason, when set, says the attempt ended for a failure of the
	// infrastructure rather than of the job, e.g. "infrastructure: no space
	// left on device". It must start with "infrastructure: ". The server
	// keeps it as the attempt's end reason and writes it at the end of the
	// log, where the agent (its disk full) may not be able to.
	Reason string `json:"reason,omitempty"`
}

// ClaimIDHeader carries an agent's ID for one claim request. The agent picks
// a new random ID per request and reuses it when it retries that request; a
// claim with an ID the server has seen from the same agent answers with the
// attempt it created then, while that attempt runs, so a lost response never
// strands a job. A finishing report may carry it too: the server then claims
// the agent's next job with it at once (see ReportReply.Next).
const ClaimIDHeader = "Lathe-Claim-ID"

// ClaimNewHeader, set to "1" beside ClaimIDHeader, says the agent has not
// sent that claim ID before (its retries leave it out). No attempt can then
// carry the ID, so the server need not look for one, and a claim by an
// agent of an idle fleet is answered without reading the database while
// nothing it could run is queued.
const ClaimNewHeader = "Lathe-Claim-New"

// ReportReply tells the agent what the server holds and whether to stop.
type ReportReply struct {
	// LogSize is the number of log bytes durably stored.
	LogSize int64 `json:"log_size"`
	// Cancel asks the agent to stop the attempt.
	Cancel bool `json:"cancel"`
	// Finished confirms the attempt's result is stored.
	Finished bool `json:"finished"`
	// HoldUntil, set once the attempt is finished, asks the agent to keep
	// the attempt's workspace instead of deleting it, until this time: a
	// hold (autohold) caught the failure. It is repeated in every later
	// reply about the attempt, so a lost answer to the finish costs nothing.
	HoldUntil *time.Time `json:"hold_until,omitempty"`
	// Next is the agent's next job, claimed with the ClaimIDHeader the
	// finishing report carried, when one was queued: the agent runs it
	// without a claim request of its own. None (a lost answer included)
	// leaves the agent to claim as usual, with that claim ID.
	Next *Assignment `json:"next,omitempty"`
}

// StopOrder answers an agent's wait on a running attempt
// (GET /api/v1/agent/attempts/{attempt}/stop).
type StopOrder struct {
	// Stop asks the agent to stop the attempt: it was canceled, or is over.
	// False: the wait ended with nothing to do; wait again.
	Stop bool `json:"stop"`
}

// InfraReasonPrefix starts every FinishReport.Reason.
const InfraReasonPrefix = "infrastructure: "

// CheckInfraReason refuses a finish reason the server would not show as it
// is: one not starting with InfraReasonPrefix, longer than 200 bytes, or
// holding control characters or invalid UTF-8.
func CheckInfraReason(reason string) error {
	if !strings.HasPrefix(reason, InfraReasonPrefix) {
		return fmt.Errorf("%q does not start with %q", reason, InfraReasonPrefix)
	}
	if len(reason) > 200 {
		return fmt.Errorf("at most 200 bytes, got %d", len(reason))
	}
	if !utf8.ValidString(reason) || strings.ContainsFunc(reason, unicode.IsControl) {
		return fmt.Errorf("%q holds control characters or invalid UTF-8", reason)
	}
	return nil
}
