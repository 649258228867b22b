package api

import (
	"net/http"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/git"
	"github.com/lathe-ci/lathe/trigger"
)

// setURL gives p the URL raw, as the caller may set it: the policy (no path
// into the data directory; for non-admins no local path, other transport
// or private address) decides, and credentials in the URL are sealed
// apart, the URL showing them as ***. A URL sent back as it is shown
// changes nothing.
func (s *Server) setURL(r *http.Request, p *lathe.Project, raw string) error {
	if raw == p.URL && p.ID != 0 {
		return nil
	}
	admin := principal(r.Context()).Admin
	if _, err := s.trigger.Policy.Check(r.Context(), raw, admin); err != nil {
		return problemf(http.StatusBadRequest, "%s", git.Redact(err.Error()))
	}
	shown, creds := git.SplitCredentials(raw)
	sealed := ""
	if creds != "" {
		var err error
		if sealed, err = trigger.SealCredentials(s.keys, creds); err != nil {
			return err
		}
	}
	p.URL, p.URLCredentials, p.URLByAdmin = shown, sealed, admin
	return nil
}
