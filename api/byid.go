package api

import (
	"context"
	"net/http"
)

// Most routes on one resource have the same shape: parse the ID in the
// path, call the store, answer with the resource. These helpers are that
// shape, so a handler says only which ID, which action and which answer.

// loader reads one resource by ID.
type loader[T any] func(ctx context.Context, id int64) (T, error)

// serveByID answers 200 with the resource whose ID is the path parameter param.
func serveByID[T any](w http.ResponseWriter, r *http.Request, param string, load loader[T]) {
	id, err := pathID(r, param)
	if err != nil {
		writeProblem(w, r, err)
		return
	}
	v, err := load(r.Context(), id)
	respond(w, r, http.StatusOK, v, err)
}

// actByID applies act to the resource whose ID is the path parameter param,
// then answers 202 with the resource as it is now (the action may still be
// under way, as a cancel that has yet to reach an agent).
func actByID[T any](w http.ResponseWriter, r *http.Request, param string, act func(context.Context, int64) error, load loader[T]) {
	id, err := pathID(r, param)
	if err != nil {
		writeProblem(w, r, err)
		return
	}
	if err := act(r.Context(), id); err != nil {
		writeProblem(w, r, err)
		return
	}
	v, err := load(r.Context(), id)
	respond(w, r, http.StatusAccepted, v, err)
}

// respond answers with v, or with err as a problem when err is set.
func respond(w http.ResponseWriter, r *http.Request, status int, v any, err error) {
	if err != nil {
		writeProblem(w, r, err)
		return
	}
	writeJSON(w, status, v)
}
