package api

import (
	"context"
	"net/http"

	lathe "github.com/lathe-ci/lathe"
)

// Most routes on one resource have the same shape: read the key in the
// path ({run} and {job} are IDs; {group}, {agent}, {user} and {team} are
// names, or for agents and groups an ID the store tells apart), look the
// resource up (the store answers lathe.ErrNotFound, so 404, for a key it
// does not know), then act on it or answer with it. keyed is that shape,
// so a handler says only which resource and what to do with it.
type keyed[K, T any] struct {
	param string
	key   func(r *http.Request, param string) (K, error)
	load  func(ctx context.Context, key K) (T, error)
}

// byID is the resource whose positive integer ID is the path parameter param.
func byID[T any](param string, load func(context.Context, int64) (T, error)) keyed[int64, T] {
	return keyed[int64, T]{param, pathID, load}
}

// byName is the resource the path parameter param names.
func byName[T any](param string, load func(context.Context, string) (T, error)) keyed[string, T] {
	return keyed[string, T]{param, pathName, load}
}

func pathName(r *http.Request, param string) (string, error) { return r.PathValue(param), nil }

// of loads the resource the request's path names.
func (k keyed[K, T]) of(r *http.Request) (T, error) {
	key, err := k.key(r, k.param)
	if err != nil {
		var zero T
		return zero, err
	}
	return k.load(r.Context(), key)
}

// serve answers 200 with the resource.
func (k keyed[K, T]) serve(w http.ResponseWriter, r *http.Request) error {
	v, err := k.of(r)
	return respond(w, http.StatusOK, v, err)
}

// with loads the resource and hands it to act.
func (k keyed[K, T]) with(r *http.Request, act func(T) error) error {
	v, err := k.of(r)
	if err != nil {
		return err
	}
	return act(v)
}

// act applies act to the resource's key, then answers 202 with the
// resource as it is now (the action may still be under way, as a cancel
// that has yet to reach an agent).
func (k keyed[K, T]) act(w http.ResponseWriter, r *http.Request, act func(context.Context, K) error) error {
	key, err := k.key(r, k.param)
	if err != nil {
		return err
	}
	if err := act(r.Context(), key); err != nil {
		return err
	}
	v, err := k.load(r.Context(), key)
	return respond(w, http.StatusAccepted, v, err)
}

// The resources of this API addressed by one path parameter.

func (s *Server) runs() keyed[int64, *lathe.Run]     { return byID("run", s.store.Run) }
func (s *Server) jobs() keyed[int64, *lathe.Job]     { return byID("job", s.store.Job) }
func (s *Server) stages() keyed[int64, *lathe.Stage] { return byID("stage", s.store.Stage) }
func (s *Server) groups() keyed[string, *lathe.AgentGroup] {
	return byName("group", s.store.Group)
}
func (s *Server) agents() keyed[string, *lathe.Agent] { return byName("agent", s.store.Agent) }
func (s *Server) users() keyed[string, *lathe.User]   { return byName("user", s.store.User) }

// visibleAgents and visibleTeams are the agents and teams the caller may
// see (all of them for admins).
func (s *Server) visibleAgents(r *http.Request) keyed[string, *lathe.Agent] {
	v := principal(r.Context()).viewer()
	return byName("agent", func(ctx context.Context, key string) (*lathe.Agent, error) { return s.store.VisibleAgent(ctx, key, v) })
}

func (s *Server) visibleTeams(r *http.Request) keyed[string, *lathe.Team] {
	v := principal(r.Context()).viewer()
	return byName("team", func(ctx context.Context, name string) (*lathe.Team, error) { return s.store.VisibleTeam(ctx, name, v) })
}

// semaphores and holds are those of the route's project.
func (s *Server) semaphores(r *http.Request) keyed[string, *lathe.Semaphore] {
	pid := projectOf(r).ID
	return byName("name", func(ctx context.Context, name string) (*lathe.Semaphore, error) {
		return s.store.Semaphore(ctx, pid, name)
	})
}

func (s *Server) holds(r *http.Request) keyed[int64, *lathe.Hold] {
	pid := projectOf(r).ID
	return byID("hold", func(ctx context.Context, id int64) (*lathe.Hold, error) { return s.store.Hold(ctx, pid, id) })
}
