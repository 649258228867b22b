package lathe

// Sequence is where a pipeline's run numbers stand (Kraken's sequences):
// the number its next run takes. A pipeline numbered per branch
// (`numbering: per-branch`) has one sequence per branch; Branch names it,
// and is empty for the pipeline's own sequence.
type Sequence struct {
	Pipeline string `json:"pipeline"`
	Branch   string `json:"branch,omitempty"`
	// Next is the number the next run takes.
	Next int64 `json:"next"`
}
