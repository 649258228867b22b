package api

import (
	"context"
	"log/slog"
	"net/http"
)

// requestState is what a request's context carries from ServeHTTP on, in
// one value made once per request: its ID and the server's logger (for
// slogFrom), and the caller the guard admits (for principal). The guard
// fills in the caller rather than deriving another context and request.
type requestState struct {
	log *slog.Logger
	// id is the request's ID, as the X-Request-Id header's value.
	id [1]string
	// principal is the admitted caller, nil until the guard admits one;
	// it points at caller.
	principal *Principal
	caller    Principal
	// agentToken is the hash of the agent credential the guard admitted
	// (see reloadAgent): each wake of a claim reads the agent again by it.
	agentToken string
}

type stateKey struct{}

func stateOf(r *http.Request) *requestState {
	st, _ := r.Context().Value(stateKey{}).(*requestState)
	return st
}

// withRequestLog gives ctx the request's logger and ID (see slogFrom).
func withRequestLog(ctx context.Context, log *slog.Logger, id string) context.Context {
	st := &requestState{log: log}
	st.id[0] = id
	return context.WithValue(ctx, stateKey{}, st)
}

// slogFrom is the logger for lines about r: they carry its request ID and
// the run, job, attempt or stage its path names. Those are found only for
// a line that is written: a Debug line with Debug off costs nothing more.
func slogFrom(r *http.Request) *slog.Logger {
	if st := stateOf(r); st != nil {
		return slog.New(requestHandler{Handler: st.log.Handler(), r: r, id: st.id[0]})
	}
	return slog.Default()
}

// requestHandler puts a request's attributes (requestAttrs) first on each
// record it handles, as Logger.With would, once the record is known to be
// logged.
type requestHandler struct {
	slog.Handler
	r  *http.Request
	id string
}

func (h requestHandler) Handle(ctx context.Context, rec slog.Record) error {
	out := slog.NewRecord(rec.Time, rec.Level, rec.Message, rec.PC)
	out.Add(requestAttrs(h.r, h.id)...)
	rec.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(a)
		return true
	})
	return h.Handler.Handle(ctx, out)
}

// WithAttrs and WithGroup give the request's attributes to the handler
// first, so that they stay outside any group, as with Logger.With.
func (h requestHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return h.eager().WithAttrs(as)
}

func (h requestHandler) WithGroup(name string) slog.Handler {
	return h.eager().WithGroup(name)
}

func (h requestHandler) eager() slog.Handler {
	return slog.New(h.Handler).With(requestAttrs(h.r, h.id)...).Handler()
}

// newPrincipal is the empty caller the guard fills in for r: the one its
// state holds, or a new one for a request that came with none.
func newPrincipal(r *http.Request) *Principal {
	if st := stateOf(r); st != nil && st.principal == nil {
		return &st.caller
	}
	return &Principal{}
}

// withPrincipal makes p r's caller (see principal): in r's state when p is
// the one newPrincipal gave from it, else in a new context.
func withPrincipal(r *http.Request, p *Principal) *http.Request {
	if st := stateOf(r); st != nil && p == &st.caller {
		st.principal = p
		return r
	}
	st := &requestState{log: slog.Default(), principal: p}
	if prev := stateOf(r); prev != nil {
		st.log, st.id = prev.log, prev.id
	}
	return r.WithContext(context.WithValue(r.Context(), stateKey{}, st))
}
