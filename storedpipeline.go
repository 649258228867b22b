package lathe

import "time"

// StoredPipeline is a pipeline the server keeps for a project (Escape's
// builds, Kraken's stored flows): YAML an owner put through the API, read
// beside the repository's pipeline files at every commit of the project.
// A repository file defining a pipeline of the same name wins over it.
type StoredPipeline struct {
	ID        int64  `json:"id"`
	ProjectID int64  `json:"project_id"`
	Name      string `json:"name"`
	// YAML is the pipeline file's text, read as .lathe/NAME.yml.
	YAML      string    `json:"pipeline_yaml"`
	UpdatedBy string    `json:"updated_by"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}
