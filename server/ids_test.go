package server_test

import (
	"fmt"
	"net/http"
	"testing"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/internal/lathetest"
)

// An ID, once handed out, names one thing forever: after the newest
// project, token or team is deleted, the next one gets a higher ID, not
// the freed one (SQLite reuses the highest rowid unless AUTOINCREMENT).
func TestIDsAreNotReusedAfterDeletes(t *testing.T) {
	lathetest.Engines(t, func(t *testing.T, o lathetest.Options) {
		o.Agents = -1
		l := lathetest.Start(t, o)
		repo := lathetest.Repo(t, map[string]string{"README": "x"})
		kinds := []struct {
			name   string
			create func(i int) int64
			delete func(i int, id int64)
		}{
			{"project", func(i int) int64 {
				return l.Project(t, fmt.Sprint("p", i), repo).ID
			}, func(i int, id int64) {
				l.Do(t, http.MethodDelete, fmt.Sprint("/api/v1/projects/", id), nil, nil)
			}},
			{"token", func(i int) int64 {
				var k lathe.APIToken
				l.Do(t, http.MethodPost, "/api/v1/tokens", map[string]string{"name": fmt.Sprint("t", i)}, &k)
				return k.ID
			}, func(i int, id int64) {
				l.Do(t, http.MethodDelete, fmt.Sprint("/api/v1/tokens/", id), nil, nil)
			}},
			{"team", func(i int) int64 {
				var tm lathe.Team
				l.Do(t, http.MethodPost, "/api/v1/teams", map[string]string{"name": fmt.Sprint("team", i)}, &tm)
				return tm.ID
			}, func(i int, id int64) {
				l.Do(t, http.MethodDelete, fmt.Sprint("/api/v1/teams/team", i), nil, nil)
			}},
		}
		for _, k := range kinds {
			first := k.create(1)
			k.delete(1, first)
			if next := k.create(2); next <= first {
				t.Errorf("%s: the one made after deleting %d got ID %d, want more than %d", k.name, first, next, first)
			}
		}
	})
}
