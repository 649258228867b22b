package lathe

// ExternalStagePrefix starts the dependency that stands for an external
// stage in a job's Deps. Job names cannot contain ':', so it never names a
// job.
const ExternalStagePrefix = "stage:"

// ExternalStageDep is the name under which a job's Deps list the external
// stage named stage: the job waits until an outside tool sets the stage to
// success.
func ExternalStageDep(stage string) string { return ExternalStagePrefix + stage }
