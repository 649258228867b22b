package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// routeQueries maps each route pattern ("GET /api/v1/runs") to the query
// parameters the OpenAPI document declares for it. The document is the one
// place a route's query parameters are named: a parameter it does not declare
// is refused, so a typo'd filter (?statsu=failed) gets a 400 naming it
// instead of an unfiltered list that looks filtered.
func routeQueries(doc []byte) (map[string][]string, error) {
	type param struct {
		Ref  string `json:"$ref"`
		Name string `json:"name"`
		In   string `json:"in"`
	}
	var d struct {
		Paths      map[string]map[string]json.RawMessage `json:"paths"`
		Components struct {
			Parameters map[string]param `json:"parameters"`
		} `json:"components"`
	}
	if err := json.Unmarshal(doc, &d); err != nil {
		return nil, fmt.Errorf("openapi document: %w", err)
	}
	resolve := func(ps []param) ([]string, error) {
		var names []string
		for _, p := range ps {
			if p.Ref != "" {
				ref, ok := d.Components.Parameters[strings.TrimPrefix(p.Ref, "#/components/parameters/")]
				if !ok {
					return nil, fmt.Errorf("openapi document: no parameter %s", p.Ref)
				}
				p = ref
			}
			if p.In == "query" {
				names = append(names, p.Name)
			}
		}
		return names, nil
	}
	out := map[string][]string{}
	for path, item := range d.Paths {
		var shared struct {
			Parameters []param `json:"parameters"`
		}
		if raw, ok := item["parameters"]; ok {
			if err := json.Unmarshal(raw, &shared.Parameters); err != nil {
				return nil, fmt.Errorf("openapi document: %s: %w", path, err)
			}
		}
		for method, raw := range item {
			if method == "parameters" {
				continue
			}
			var op struct {
				Parameters []param `json:"parameters"`
			}
			if err := json.Unmarshal(raw, &op); err != nil {
				return nil, fmt.Errorf("openapi document: %s %s: %w", method, path, err)
			}
			names, err := resolve(append(shared.Parameters, op.Parameters...))
			if err != nil {
				return nil, err
			}
			out[strings.ToUpper(method)+" "+path] = names
		}
	}
	return out, nil
}

// onlyDeclaredQuery refuses a request naming a query parameter the route
// does not declare. The guard runs it after authorization, like any handler.
func onlyDeclaredQuery(pattern string, allowed []string, h handler) handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		if err := undeclaredQuery(pattern, allowed, r.URL.RawQuery); err != nil {
			return err
		}
		return h(w, r)
	}
}

// undeclaredQuery names the parameters of raw that pattern does not take.
// It is a call of its own so that its locals are not in the frame below
// every handler (an idle agent's claim waits in one, see
// dispatch.Service.look).
func undeclaredQuery(pattern string, allowed []string, raw string) error {
	var unknown []string
	queryPairs(raw, func(name, _ string) bool {
		if !slices.Contains(allowed, name) && !slices.Contains(unknown, name) {
			unknown = append(unknown, name)
		}
		return true
	})
	if len(unknown) == 0 {
		return nil
	}
	slices.Sort(unknown)
	accepts := "no query parameters"
	if len(allowed) > 0 {
		accepts = "only " + strings.Join(allowed, ", ")
	}
	return problemf(http.StatusBadRequest, "unknown query parameter %s: %s takes %s",
		strings.Join(unknown, ", "), pattern, accepts)
}

// queryPairs calls fn with each name and value of the raw query that
// url.ParseQuery keeps, unescaped, in order, until fn returns false. Unlike
// URL.Query it builds no map: a request's query is read where it is needed,
// with nothing allocated unless a name or value is escaped.
func queryPairs(raw string, fn func(name, value string) bool) {
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		if pair == "" || strings.Contains(pair, ";") {
			continue // ParseQuery skips these too
		}
		name, value, _ := strings.Cut(pair, "=")
		name, err := url.QueryUnescape(name)
		if err != nil {
			continue
		}
		if value, err = url.QueryUnescape(value); err != nil {
			continue
		}
		if !fn(name, value) {
			return
		}
	}
}

// queryValue is r.URL.Query().Get(name), without building the map.
func queryValue(r *http.Request, name string) string {
	var v string
	queryPairs(r.URL.RawQuery, func(n, value string) bool {
		if n == name {
			v = value
			return false
		}
		return true
	})
	return v
}
