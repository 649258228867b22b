package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/auth"
	"github.com/lathe-ci/lathe/internal/diskspace"
	"github.com/lathe-ci/lathe/pipeline"
	"github.com/lathe-ci/lathe/store"
	"github.com/lathe-ci/lathe/trigger"
)

// Problem is an RFC 9457 problem detail, the body of every error response.
type Problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail,omitempty"`
	// Errors lists pipeline configuration errors with their positions.
	Errors []*pipeline.Error `json:"errors,omitempty"`
}

func (p *Problem) Error() string { return p.Detail }

func problemf(status int, format string, args ...any) *Problem {
	return &Problem{Type: "about:blank", Title: http.StatusText(status), Status: status, Detail: fmt.Sprintf(format, args...)}
}

// writeProblem is the one place errors become responses.
func writeProblem(w http.ResponseWriter, r *http.Request, err error) {
	var p *Problem
	var cfg *trigger.ConfigError
	switch {
	case errors.As(err, &p):
	case errors.As(err, &cfg):
		p = problemf(http.StatusUnprocessableEntity, "%s", cfg.Error())
		p.Errors = cfg.Errs
	case errors.Is(err, lathe.ErrNotFound):
		p = problemf(http.StatusNotFound, "%v", err)
	case errors.Is(err, lathe.ErrConflict):
		p = problemf(http.StatusConflict, "%v", err)
	case errors.Is(err, lathe.ErrInvalid):
		p = problemf(http.StatusBadRequest, "%v", err)
	case errors.Is(err, lathe.ErrForbidden):
		p = problemf(http.StatusForbidden, "%v", err)
	case errors.Is(err, lathe.ErrFenced), errors.Is(err, lathe.ErrExpired):
		p = problemf(http.StatusGone, "%v", err)
	case errors.Is(err, lathe.ErrUnauthorized):
		p = problemf(http.StatusUnauthorized, "%v", err)
	case errors.Is(err, auth.ErrBusy):
		w.Header().Set("Retry-After", "1")
		p = problemf(http.StatusTooManyRequests, "%v; retry in 1 s", err)
	case errors.Is(err, r.Context().Err()) && r.Context().Err() != nil:
		return // the client went away
	case store.DiskFull(err):
		p = problemf(http.StatusServiceUnavailable, "%s on the server; try again once space is freed", diskspace.Reason)
		w.Header().Set("Retry-After", retryAfterDiskFull)
		slogFrom(r).Error("disk full", "route", r.Pattern, "err", err)
	case store.Unavailable(err):
		// Nothing the client did: the same request may well work shortly.
		p = problemf(http.StatusServiceUnavailable, "the database is unreachable; try again shortly")
		w.Header().Set("Retry-After", retryAfterUnavailable)
		slogFrom(r).Warn("database unreachable", "route", r.Pattern, "err", err)
	default:
		p = problemf(http.StatusInternalServerError, "internal error")
		// The route's pattern, not the path: a path can hold a credential
		// (the webhook token of /api/v1/hooks/{token}).
		slogFrom(r).Error("request failed", "route", r.Pattern, "err", err)
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(p.Status)
	json.NewEncoder(w).Encode(p)
}

// retryAfterUnavailable is the Retry-After, in seconds, of a 503 answered
// while the database is unreachable.
const retryAfterUnavailable = "5"

// retryAfterDiskFull is the Retry-After, in seconds, of a 503 answered
// while the server's disk is full: freeing space takes an operator.
const retryAfterDiskFull = "60"

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// respond answers with v, or returns err when it is set.
func respond(w http.ResponseWriter, status int, v any, err error) error {
	if err != nil {
		return err
	}
	writeJSON(w, status, v)
	return nil
}

// noContent answers 204, or returns err when it is set.
func noContent(w http.ResponseWriter, err error) error {
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// maxBody bounds request bodies (log chunks are the largest).
const maxBody = 8 << 20

// decode reads a JSON body into v, refusing unknown fields and trailing data.
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	return decodeBody(w, r, v, false)
}

// decodeOptional is decode for bodies whose every field is optional: an
// empty body means {}.
func decodeOptional(w http.ResponseWriter, r *http.Request, v any) error {
	return decodeBody(w, r, v, true)
}

func decodeBody(w http.ResponseWriter, r *http.Request, v any, optional bool) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			if optional {
				return nil
			}
			return problemf(http.StatusBadRequest, "request body is empty; send a JSON object")
		}
		return problemf(http.StatusBadRequest, "request body: %v", err)
	}
	if dec.More() {
		return problemf(http.StatusBadRequest, "request body: unexpected data after the JSON object")
	}
	return nil
}

// pathID parses the {name} path parameter as a positive ID.
func pathID(r *http.Request, name string) (int64, error) {
	v := r.PathValue(name)
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id <= 0 {
		return 0, problemf(http.StatusBadRequest, "%s: %q is not an ID", name, v)
	}
	return id, nil
}

// queryInt parses an optional integer query parameter within [lo, hi].
func queryInt(r *http.Request, name string, def, lo, hi int64) (int64, error) {
	v := queryValue(r, name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < lo || n > hi {
		return 0, problemf(http.StatusBadRequest, "query parameter %s: %q must be a whole number from %d to %d", name, v, lo, hi)
	}
	return n, nil
}

// pageParams reads limit (1–200, default 50) and before.
func pageParams(r *http.Request) (before int64, limit int, err error) {
	l, err := queryInt(r, "limit", 50, 1, 200)
	if err != nil {
		return 0, 0, err
	}
	before, err = queryInt(r, "before", 0, 0, 1<<62)
	return before, int(l), err
}
