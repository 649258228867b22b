package api

import (
	"context"
	"net/http"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/pipeline"
)

// scheduleList is the answer to listing a project's schedules.
type scheduleList struct {
	Items []*lathe.Schedule `json:"items"`
}

// listSchedules serves the cron triggers of the project's pipelines, as
// the server last read them from its default branch.
func (s *Server) listSchedules(w http.ResponseWriter, r *http.Request) error {
	scs, err := s.store.Schedules(r.Context(), projectOf(r).ID)
	return respond(w, http.StatusOK, scheduleList{Items: scs}, err)
}

func (s *Server) pauseSchedule(w http.ResponseWriter, r *http.Request) error {
	return s.setSchedulePaused(w, r, true)
}

func (s *Server) resumeSchedule(w http.ResponseWriter, r *http.Request) error {
	return s.setSchedulePaused(w, r, false)
}

func (s *Server) setSchedulePaused(w http.ResponseWriter, r *http.Request, paused bool) error {
	p := projectOf(r)
	return byID("schedule", func(ctx context.Context, id int64) (*lathe.Schedule, error) {
		sc, err := s.store.SetSchedulePaused(ctx, p.ID, id, paused, func(cron string, now time.Time) (time.Time, error) {
			c, err := pipeline.ParseCron(cron)
			if err != nil {
				return time.Time{}, err
			}
			return c.Next(now), nil
		})
		if err == nil {
			action := map[bool]string{true: "schedule.paused", false: "schedule.resumed"}[paused]
			s.audit(r, principal(ctx).User, action, p, map[string]any{"schedule_id": id, "pipeline": sc.Pipeline, "cron": sc.Cron})
		}
		return sc, err
	}).serve(w, r)
}
