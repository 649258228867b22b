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
func serveByID[T any](w http.ResponseWriter, r *http.Request, param string, load loader[T]) error {
	id, err := pathID(r, param)
	if err != nil {
		return err
	}
	v, err := load(r.Context(), id)
	return respond(w, http.StatusOK, v, err)
}

// actByID applies act to the resource whose ID is the path parameter param,
// then answers 202 with the resource as it is now (the action may still be
// under way, as a cancel that has yet to reach an agent).
func actByID[T any](w http.ResponseWriter, r *http.Request, param string, act func(context.Context, int64) error, load loader[T]) error {
	id, err := pathID(r, param)
	if err != nil {
		return err
	}
	if err := act(r.Context(), id); err != nil {
		return err
	}
	v, err := load(r.Context(), id)
	return respond(w, http.StatusAccepted, v, err)
}

// respond answers with v, or returns err when it is set.
func respond(w http.ResponseWriter, status int, v any, err error) error {
	if err != nil {
		return err
	}
	writeJSON(w, status, v)
	return nil
}
