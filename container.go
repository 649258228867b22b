package lathe

import "time"

// JobContainer says that a job runs in a container: one container per
// attempt, created from Image, its steps run inside it one after another,
// its services beside it on a network of the attempt's own.
type JobContainer struct {
	// Image is the job container's image, NAME[:TAG] or NAME@DIGEST.
	Image string `json:"image"`
	// Pull is when the agent pulls the image: PullIfNotPresent (the
	// default when empty), PullAlways or PullNever.
	Pull string `json:"pull,omitempty"`
	// Services start before the first step and are removed with the job.
	Services []Service `json:"services,omitempty"`
	// Resources limit the job container; nil for the engine's defaults.
	Resources *Resources `json:"resources,omitempty"`
}

// Pull policies.
const (
	PullIfNotPresent = "if-not-present"
	PullAlways       = "always"
	PullNever        = "never"
)

// Service is a container a job's steps talk to (a database, a cache),
// reachable from the job container by its Name.
type Service struct {
	Name  string   `json:"name"`
	Image string   `json:"image"`
	Env   []EnvVar `json:"env,omitempty"`
	// Command replaces the image's command (its arguments, after the
	// image's entry point) when set.
	Command []string `json:"command,omitempty"`
	// Ready is a command run inside the service until it exits 0; when
	// empty, the service is ready once each port its image exposes
	// accepts connections (or at once when it exposes none).
	Ready string `json:"ready,omitempty"`
	// ReadyTimeoutSec bounds the wait for the service to become ready.
	ReadyTimeoutSec int64 `json:"ready_timeout_sec,omitempty"`
}

// DefaultServiceReadyTimeout is how long a job waits for a service whose
// pipeline gives no timeout.
const DefaultServiceReadyTimeout = 60 * time.Second

// Resources are the limits of a job container.
type Resources struct {
	// CPUs is how many CPUs the container may use (1.5 for one and a
	// half); 0 for no limit.
	CPUs float64 `json:"cpus,omitempty"`
	// MemoryBytes is the container's memory limit; 0 for no limit.
	MemoryBytes int64 `json:"memory_bytes,omitempty"`
}

// ContainerExecutorLabel is the label an agent carries when it can run
// container jobs, and the label a job with an image needs.
const ContainerExecutorLabel = "executor:container"

// System is an image or executor jobs ran on (Kraken's systems), with how
// often and how lately.
type System struct {
	// Executor is "container" for jobs with an image, "host" for the others
	// (run in the agent's sandbox or shell).
	Executor string `json:"executor"`
	// Image is the job container's image; empty for "host".
	Image string `json:"image"`
	// Jobs counts the jobs that asked for this system; Attempts those of
	// their attempts that an agent started.
	Jobs     int64      `json:"jobs"`
	Attempts int64      `json:"attempts"`
	LastUsed *time.Time `json:"last_used"`
}
