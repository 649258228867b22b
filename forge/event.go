package forge

import (
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"reflect"
	"strings"

	lathe "github.com/lathe-ci/lathe"
)

// EventKind is what a hook reports, in Lathe's terms.
type EventKind string

// The kinds of event a hook may carry. Other is every event Lathe does not
// act on (issues, comments, ping…): it is answered and starts nothing.
const (
	Push        EventKind = "push"         // a branch pushed (or deleted)
	TagPush     EventKind = "tag"          // a tag pushed (or deleted)
	PullRequest EventKind = "pull_request" // a pull (merge) request changed; see Action
	Other       EventKind = "other"
)

// Action is what happened to a pull request.
type Action string

// The pull request actions Lathe acts on; every other one (edited,
// labeled, approved…) is ActionOther.
const (
	Opened      Action = "opened"
	Synchronize Action = "synchronize" // new commits on its head
	Reopened    Action = "reopened"
	Closed      Action = "closed" // closed or merged
	ActionOther Action = "other"
)

// zeroSHA is the "after" of a deleted ref.
const zeroSHA = "0000000000000000000000000000000000000000"

// Event is a hook's payload, the same for every forge.
type Event struct {
	Kind EventKind
	// Name is the sender's name for the event, as its header gave it.
	Name string
	// Action is what happened to a pull request (Kind PullRequest).
	Action Action
	// Ref is the full ref to build: refs/heads/main, refs/tags/v1, or the
	// forge's ref of a pull request's head (refs/pull/7/head,
	// refs/merge-requests/7/head).
	Ref string
	// SHA is the commit to build: the pushed head, the pull request's head.
	SHA string
	// Base is the branch a pull request targets.
	Base string
	// PullRequest is the pull (merge) request's number.
	PullRequest int64
	// Fork says a pull request's head lives in another repository.
	Fork bool
	// Repo is the repository the hook is about (owner/name; GitLab's path
	// with namespace).
	Repo string
	// Author is the forge user behind the event: the pusher, the pull
	// request's author.
	Author string
	// Deleted says the push deleted its branch or tag.
	Deleted bool
	// Message is the head commit's message, when the payload carries it.
	Message string
	// Delivery is the delivery's ID (see Sender.Delivery).
	Delivery string
}

// Branch is the pushed branch's name, or "" for other refs.
func (e *Event) Branch() string {
	b, _ := strings.CutPrefix(e.Ref, "refs/heads/")
	if b == e.Ref {
		return ""
	}
	return b
}

// SkipCI says the head commit's message asks for no CI ([skip ci] or [ci skip]).
func (e *Event) SkipCI() bool {
	m := strings.ToLower(e.Message)
	return strings.Contains(m, "[skip ci]") || strings.Contains(m, "[ci skip]")
}

// Parse reads a hook whose signature Verify accepted into an Event. A
// payload that does not parse, or lacks what its event needs, is an
// error naming the field (ErrInvalid); an event Lathe does not act on is
// Kind Other.
func Parse(s Sender, h http.Header, body []byte) (*Event, error) {
	name := s.eventName(h)
	if name == "" {
		return nil, fmt.Errorf("%s hook: the request has no %s header (each kind of forge has its own hook URL, /api/v1/hooks/%s/… is %s's): %w",
			s, s.EventHeader(), s, s, lathe.ErrInvalid)
	}
	body, err := jsonBody(h, body)
	if err != nil {
		return nil, fmt.Errorf("%s %s hook: %w", s, name, err)
	}
	var e *Event
	switch s.Kind() {
	case GitHub:
		e, err = parseGitHub(name, body)
	case GitLab:
		e, err = parseGitLab(name, body)
	default:
		e, err = parseGitea(name, body)
	}
	if err != nil {
		return nil, fmt.Errorf("%s %s hook: %w", s, name, err)
	}
	e.Name, e.Delivery = name, s.Delivery(h)
	if e.Kind == Push && strings.HasPrefix(e.Ref, "refs/tags/") {
		e.Kind = TagPush
	}
	if e.SHA == zeroSHA {
		e.Deleted = true
	}
	if e.Kind != Other && !e.Deleted && e.Action != Closed && !isSHA(e.SHA) {
		return nil, fmt.Errorf("%s %s hook: commit %q is not a commit ID: %w", s, name, e.SHA, lathe.ErrInvalid)
	}
	return e, nil
}

func isSHA(s string) bool {
	if len(s) != 40 && len(s) != 64 {
		return false
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// jsonBody is a hook's JSON payload. GitHub (by default), Gitea, Forgejo
// and Gogs may send it form-encoded instead, in the field "payload"; the
// signature covers the body as sent, so this comes after Verify.
func jsonBody(h http.Header, body []byte) ([]byte, error) {
	mt, _, _ := mime.ParseMediaType(h.Get("Content-Type"))
	if mt != "application/x-www-form-urlencoded" {
		return body, nil
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, fmt.Errorf("form-encoded body: %v: %w", err, lathe.ErrInvalid)
	}
	if !form.Has("payload") {
		return nil, fmt.Errorf("form-encoded body has no payload field; set the hook's content type to application/json: %w", lathe.ErrInvalid)
	}
	return []byte(form.Get("payload")), nil
}

// decode reads a payload, naming what is wrong with it.
func decode(body []byte, v any) error {
	err := json.Unmarshal(body, v)
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &syntax):
		return fmt.Errorf("payload is not JSON: %v at byte %d: %w", syntax, syntax.Offset, lathe.ErrInvalid)
	case errors.As(err, &typ) && typ.Field != "":
		return fmt.Errorf("payload is not the JSON this event has: field %s is a JSON %s, want a %s: %w",
			typ.Field, typ.Value, jsonKind(typ.Type.Kind()), lathe.ErrInvalid)
	case errors.As(err, &typ):
		return fmt.Errorf("payload is not the JSON this event has: it is a JSON %s, want an object: %w", typ.Value, lathe.ErrInvalid)
	}
	return fmt.Errorf("payload is not the JSON this event has: %v: %w", err, lathe.ErrInvalid)
}

// jsonKind names, in JSON's words, what a Go field of kind k holds.
func jsonKind(k reflect.Kind) string {
	switch k {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Struct, reflect.Map, reflect.Pointer:
		return "object"
	case reflect.Slice, reflect.Array:
		return "array"
	}
	return "number"
}

// missing is the error of a payload without a field its event needs.
func missing(field string) error {
	return fmt.Errorf("payload has no %s: %w", field, lathe.ErrInvalid)
}

// prAction maps a forge's pull request action to Lathe's.
func prAction(a string) Action {
	switch a {
	case "opened", "open":
		return Opened
	case "synchronize", "synchronized":
		return Synchronize
	case "reopened", "reopen":
		return Reopened
	case "closed", "close", "merge":
		return Closed
	}
	return ActionOther
}
