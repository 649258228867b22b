package lathetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/lathe-ci/lathe/api"
)

// The OpenAPI document (api/openapi/openapi.json), loaded once; kin-openapi
// reads it as OpenAPI 3.1 and validates schemas as JSON Schema 2020-12.
var (
	openAPIOnce   sync.Once
	openAPIRouter routers.Router
	openAPIErr    error
)

// OpenAPIRouter is the loaded, validated OpenAPI document's router.
func OpenAPIRouter() (routers.Router, error) {
	openAPIOnce.Do(func() {
		loader := openapi3.NewLoader()
		doc, err := loader.LoadFromData(api.OpenAPI())
		if err == nil {
			err = doc.Validate(loader.Context)
		}
		if err == nil {
			// The document's one server is "/", the server's own origin; the
			// router would match it against the request URL's path and strip
			// its slash. Without servers it matches paths as they are.
			doc.Servers = nil
			openAPIRouter, err = legacy.NewRouter(doc)
		}
		if err != nil {
			openAPIErr = fmt.Errorf("api/openapi/openapi.json: %w", err)
		}
	})
	return openAPIRouter, openAPIErr
}

// CheckOpenAPI wraps next (nil: http.DefaultTransport) in a round tripper
// that holds every exchange to the OpenAPI document and fails tb when one
// does not match it: the route and the status must be documented, and the
// content type and JSON body must be what the document says. A request the
// document rejects (a test may send one on purpose) must be rejected by the
// server too, with a 4xx; a 404 or 405 for a path or method the document does
// not have is fine, as that is what the server says to those.
//
// A streamed answer (server-sent events, a log) has its status and content
// type checked but its body left to the caller.
func CheckOpenAPI(tb testing.TB, next http.RoundTripper) http.RoundTripper {
	router, err := OpenAPIRouter()
	if err != nil {
		tb.Fatal(err)
	}
	if next == nil {
		next = http.DefaultTransport
	}
	return &openAPICheck{tb: tb, router: router, next: next}
}

type openAPICheck struct {
	tb     testing.TB
	router routers.Router
	next   http.RoundTripper
}

func (c *openAPICheck) RoundTrip(req *http.Request) (*http.Response, error) {
	find := req
	if req.URL.RawPath != "" {
		// An escaped slash (a branch release%2F1.x) stays inside its
		// segment, as the document's one-segment parameter has it.
		find = req.Clone(req.Context())
		find.URL.Path = req.URL.EscapedPath()
	}
	route, params, findErr := c.router.FindRoute(find)
	var reqInput *openapi3filter.RequestValidationInput
	var reqErr error
	if findErr == nil {
		opts := &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}
		var body io.ReadCloser
		if req.Body != nil && req.Body != http.NoBody {
			if req.GetBody == nil {
				opts.ExcludeRequestBody = true // a stream: only its sender knows it
			} else if body, reqErr = req.GetBody(); reqErr != nil {
				return nil, reqErr
			}
		}
		check := req.Clone(req.Context())
		check.Body = body
		if check.Body == nil {
			check.Body = http.NoBody
		}
		reqInput = &openapi3filter.RequestValidationInput{Request: check, PathParams: params, Route: route, Options: opts}
		reqErr = openapi3filter.ValidateRequest(context.Background(), reqInput)
	}

	resp, err := c.next.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	what := req.Method + " " + req.URL.Path
	switch {
	case findErr != nil:
		if resp.StatusCode != http.StatusNotFound && resp.StatusCode != http.StatusMethodNotAllowed {
			c.tb.Errorf("OpenAPI: %s answered %d, but the document has no such operation: %v", what, resp.StatusCode, findErr)
		}
		return resp, nil
	case reqErr != nil && resp.StatusCode < 400 && !contentTypeOnly(reqErr):
		c.tb.Errorf("OpenAPI: %s answered %d to a request the document rejects: %v", what, resp.StatusCode, reqErr)
	}

	opts := &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true}
	input := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: reqInput, Status: resp.StatusCode, Header: resp.Header, Options: opts,
	}
	mediaType, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if isJSON(mediaType) {
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(b))
		if err != nil {
			return resp, nil // the caller sees the short body
		}
		input.SetBodyBytes(b)
	} else {
		// Streams and other bodies: the status and content type only.
		opts.ExcludeResponseBody = true
		input.Body = io.NopCloser(strings.NewReader(""))
		if err := documentedContentType(route, resp); err != nil {
			c.tb.Errorf("OpenAPI: %s answered %d: %v", what, resp.StatusCode, err)
			return resp, nil
		}
	}
	if err := openapi3filter.ValidateResponse(context.Background(), input); err != nil {
		c.tb.Errorf("OpenAPI: %s answered %d, which the document does not allow: %s", what, resp.StatusCode, describe(err))
	}
	return resp, nil
}

// contentTypeOnly reports whether a request's only fault is its
// Content-Type. The server reads a body as its operation's type whatever
// the header says, and refuses another type (415) only on a session
// cookie's request, where it is a CSRF defence (api/csrf.go); the document
// names the type clients should send.
func contentTypeOnly(err error) bool {
	var re *openapi3filter.RequestError
	return errors.As(err, &re) && strings.HasPrefix(re.Reason, "header Content-Type has unexpected value")
}

func isJSON(mediaType string) bool {
	return mediaType == "application/json" || strings.HasSuffix(mediaType, "+json")
}

// documentedContentType checks a response that has a body has a content type
// its status documents (ValidateResponse checks it only with the body).
func documentedContentType(route *routers.Route, resp *http.Response) error {
	ref := route.Operation.Responses.Status(resp.StatusCode)
	if ref == nil {
		ref = route.Operation.Responses.Default()
	}
	if ref == nil || ref.Value == nil || len(ref.Value.Content) == 0 {
		return nil // ValidateResponse reports an undocumented status
	}
	ct := resp.Header.Get("Content-Type")
	if ct == "" && resp.ContentLength == 0 {
		return nil
	}
	if ref.Value.Content.Get(ct) == nil {
		return fmt.Errorf("content type %q is not documented for it (documented: %v)", ct, mapKeys(ref.Value.Content))
	}
	return nil
}

func mapKeys(c openapi3.Content) []string {
	var out []string
	for k := range c {
		out = append(out, k)
	}
	return out
}

// describe flattens a validation error to its messages.
func describe(err error) string {
	var re *openapi3filter.ResponseError
	if errors.As(err, &re) && re.Err != nil {
		return re.Reason + ": " + re.Err.Error()
	}
	return err.Error()
}

// HTTPClient is a plain HTTP client, for a test that builds its requests
// by hand, whose exchanges are held to the OpenAPI document (CheckOpenAPI).
func HTTPClient(tb testing.TB) *http.Client {
	return &http.Client{Transport: CheckOpenAPI(tb, nil)}
}
