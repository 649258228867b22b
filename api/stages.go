package api

import (
	"net/http"

	lathe "github.com/lathe-ci/lathe"
)

// Stage tracking (seed 004): an outside tool drives an external stage's
// status; a finished run's stage can be deleted with its jobs' logs.

// stageInput is the body of PATCH /api/v1/stages/{stage}.
type stageInput struct {
	// Status is running, success or failed, or the stage-tracking API's
	// words for them (see stageWords).
	Status lathe.Status `json:"status"`
}

// stageWords are the stage-tracking API's (seed 004) statuses an outside
// tool may set, as Lathe's: its tools send IN_PROGRESS, not running.
var stageWords = map[lathe.Status]lathe.Status{
	"IN_PROGRESS": lathe.StatusRunning, "SUCCESS": lathe.StatusSuccess, "FAILED": lathe.StatusFailed,
}

// updateStage serves PATCH /api/v1/stages/{stage}: the engine decides
// whether the stage may move (engine.ExternalUpdate); the store applies it
// and advances the run, releasing or skipping the jobs that wait for it.
func (s *Server) updateStage(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "stage")
	if err != nil {
		return err
	}
	var in stageInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	if in.Status == "" {
		return problemf(http.StatusBadRequest, "status: required: running, success or failed")
	}
	if st, ok := stageWords[in.Status]; ok {
		in.Status = st
	}
	st, err := s.store.SetExternalStage(r.Context(), id, in.Status)
	return respond(w, http.StatusOK, st, err)
}

// deleteStage serves DELETE /api/v1/stages/{stage}: a stage of a finished
// run goes with its jobs, their logs, uploads and results; it answers the
// stage as it was.
func (s *Server) deleteStage(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "stage")
	if err != nil {
		return err
	}
	st, gone, err := s.store.DeleteStage(r.Context(), id)
	if err != nil {
		return err
	}
	for _, u := range gone {
		if s.uploads.blobs == nil {
			break
		}
		if err := s.uploads.blobs.Delete(r.Context(), uploadKey(u.RunID, u.Name, u.SHA256)); err != nil {
			slogFrom(r).Warn("remove upload of deleted stage", "stage_id", id, "run_id", u.RunID, "name", u.Name, "err", err)
		}
	}
	writeJSON(w, http.StatusOK, st)
	return nil
}
