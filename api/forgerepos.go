package api

import (
	"net/http"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/forge"
)

// forgeRepoPage is one page of the repositories a forge connection sees.
type forgeRepoPage struct {
	Items []forge.RemoteRepo `json:"items"`
	// NextPage is the page to ask for next (?page=), or null on the last.
	NextPage *int `json:"next_page"`
}

// listForgeRepos serves one page of the repositories the forge
// connection's account may see, asked of the forge with the connection's
// token (Escape's repositories of a VCS connection): the repositories a
// project can be made from.
func (s *Server) listForgeRepos(w http.ResponseWriter, r *http.Request) error {
	page, err := queryInt(r, "page", 1, 1, 10_000)
	if err != nil {
		return err
	}
	if err := s.forgeKeys(); err != nil {
		return err
	}
	return s.forgeByName().with(r, func(f *lathe.Forge) error {
		token, err := s.store.ForgeToken(r.Context(), s.keys, f.ID)
		if err != nil {
			return err
		}
		repos, next, err := forge.Repositories(r.Context(), s.dispatch.ForgeClient, forge.Kind(f.Kind), f.APIURL, token, int(page))
		if err != nil {
			return problemf(http.StatusBadGateway, "forge %s: %v", f.Name, err)
		}
		out := forgeRepoPage{Items: repos}
		if out.Items == nil {
			out.Items = []forge.RemoteRepo{}
		}
		if next > 0 {
			out.NextPage = &next
		}
		writeJSON(w, http.StatusOK, out)
		return nil
	})
}
