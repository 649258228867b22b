package api

import (
	"encoding/json"
	"fmt"
	"net/http"
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
		var unknown []string
		for name := range r.URL.Query() {
			if !slices.Contains(allowed, name) {
				unknown = append(unknown, name)
			}
		}
		if len(unknown) > 0 {
			slices.Sort(unknown)
			accepts := "no query parameters"
			if len(allowed) > 0 {
				accepts = "only " + strings.Join(allowed, ", ")
			}
			return problemf(http.StatusBadRequest, "unknown query parameter %s: %s takes %s",
				strings.Join(unknown, ", "), pattern, accepts)
		}
		return h(w, r)
	}
}
