package pipeline

import (
	"fmt"
	"slices"
	"strings"

	"github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/pipeline/expr"
	"go.yaml.in/yaml/v3"
)

// Parameter types.
const (
	ParamString  = "string"
	ParamNumber  = "number"
	ParamBoolean = "boolean"
	ParamChoice  = "choice"
)

var (
	paramTypes = []string{ParamString, ParamNumber, ParamBoolean, ParamChoice}
	paramKeys  = []string{"type", "default", "choices", "description", "required"}
)

// identRule is said in every message about an invalid parameter or axis name.
const identRule = "start with a letter or '_', then use up to 63 letters, digits, '_' or '-'"

// Param is one input a run of the pipeline takes (Kraken's schema
// parameters). Manual runs set them; every other run uses the defaults.
type Param struct {
	Name string
	// Type is ParamString, ParamNumber, ParamBoolean or ParamChoice. A
	// number's value is its decimal text as given, exact to the last digit
	// (expr.ParseNumber), so PARAM_N is what the caller typed.
	Type        string
	Description string
	// Default is the value's text when none is given; HasDefault says
	// whether there is one (an empty default is a default).
	Default    string
	HasDefault bool
	// Choices are the allowed values of a choice parameter.
	Choices []string
	// Required parameters have no default and must be given.
	Required bool
	// Line is the line of the parameter's key in the file.
	Line int
	key  *yaml.Node
}

// EnvName is the variable a job sees the parameter as: PARAM_ and the name
// upper-cased with '-' as '_', so `dry-run` is PARAM_DRY_RUN.
func (p *Param) EnvName() string { return "PARAM_" + envSuffix(p.Name) }

// envSuffix turns a parameter or axis name into the tail of an env name.
func envSuffix(name string) string {
	return strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// ParamValue is a parameter's value for one run.
type ParamValue struct {
	Name  string
	Value expr.Value
}

// ParamError says which given parameter is wrong and why.
type ParamError struct {
	Param   string
	Message string
}

func (e *ParamError) Error() string {
	return fmt.Sprintf("parameter %q: %s", e.Param, e.Message)
}

// ParamErrors is every problem with the parameters given for a run, in the
// order the pipeline declares them (unknown names last).
type ParamErrors []*ParamError

func (l ParamErrors) Error() string {
	msgs := make([]string, len(l))
	for i, e := range l {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "\n")
}

// Unwrap lets errors.Is(err, lathe.ErrInvalid) hold, so the API answers 400.
func (l ParamErrors) Unwrap() error { return lathe.ErrInvalid }

// ParamValues checks the values a caller gives for a run (from a form, the
// API or `--param K=V`) against the declared parameters, fills in defaults,
// and returns every parameter's typed value in declared order. Names not
// declared, values of the wrong type and missing required parameters are
// all reported, as ParamErrors.
func (p *Pipeline) ParamValues(given map[string]string) ([]ParamValue, error) {
	var errs ParamErrors
	out := make([]ParamValue, 0, len(p.Params))
	declared := make(map[string]bool, len(p.Params))
	names := make([]string, 0, len(p.Params))
	for _, prm := range p.Params {
		declared[prm.Name] = true
		names = append(names, prm.Name)
		text, ok := given[prm.Name]
		if !ok {
			if !prm.HasDefault {
				if prm.Required {
					errs = append(errs, &ParamError{prm.Name, "is required"})
					continue
				}
				text = zeroParam(prm)
			} else {
				text = prm.Default
			}
		}
		v, msg := typedParam(prm, text)
		if msg != "" {
			errs = append(errs, &ParamError{prm.Name, msg})
			continue
		}
		out = append(out, ParamValue{Name: prm.Name, Value: v})
	}
	var unknown []string
	for name := range given {
		if !declared[name] {
			unknown = append(unknown, name)
		}
	}
	slices.Sort(unknown)
	for _, name := range unknown {
		budget := suggestBudget
		msg := "is not declared by pipeline " + p.Name + didYouMean(name, names, &budget)
		errs = append(errs, &ParamError{name, msg})
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return out, nil
}

// zeroParam is the value of an optional parameter without a default.
func zeroParam(p *Param) string {
	switch p.Type {
	case ParamNumber:
		return "0"
	case ParamBoolean:
		return "false"
	case ParamChoice:
		return p.Choices[0]
	}
	return ""
}

// typedParam converts text to the parameter's type, or says why it cannot.
func typedParam(p *Param, text string) (expr.Value, string) {
	switch p.Type {
	case ParamNumber:
		// The number as given, digit for digit: 1000000 stays 1000000 for
		// the job's env and for conditions comparing it with "1000000".
		n, ok := expr.ParseNumber(strings.TrimSpace(text))
		if !ok {
			return expr.Value{}, fmt.Sprintf("%q is not a number", text)
		}
		return n, ""
	case ParamBoolean:
		switch strings.ToLower(strings.TrimSpace(text)) {
		case "true", "yes", "1":
			return expr.Bool(true), ""
		case "false", "no", "0":
			return expr.Bool(false), ""
		}
		return expr.Value{}, fmt.Sprintf("%q is not true or false", text)
	case ParamChoice:
		for _, c := range p.Choices {
			if c == text {
				return expr.String(text), ""
			}
		}
		return expr.Value{}, fmt.Sprintf("%q is not one of %s", text, strings.Join(p.Choices, ", "))
	}
	return expr.String(text), ""
}

// params reads the top-level `parameters:` map.
func (w *walker) params(n *yaml.Node, path string) []*Param {
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		w.errorf(n, path, "must be a map of parameter names to {type, default, ...}, not %s", describe(n))
		return nil
	}
	var out []*Param
	envNames := make(map[string]string)
	for _, e := range w.entries(n, path) {
		field := join(path, e.key.Value)
		p := w.param(e.key, e.value, field)
		if !validIdent(p.Name) {
			w.errorf(e.key, field, "%q is not a valid parameter name: %s", p.Name, identRule)
		} else if other, clash := envNames[p.EnvName()]; clash {
			w.errorf(e.key, field, "parameters %q and %q would both be the variable %s; rename one", other, p.Name, p.EnvName())
		} else {
			envNames[p.EnvName()] = p.Name
		}
		out = append(out, p)
	}
	return out
}

// param reads one parameter: a map with its type and default.
func (w *walker) param(key, n *yaml.Node, path string) *Param {
	p := &Param{Name: key.Value, Type: ParamString, Line: key.Line, key: key}
	if isNull(n) {
		return p
	}
	if n.Kind != yaml.MappingNode {
		w.errorf(n, path, "must be a map such as {type: string, default: x}, not %s", describe(n))
		return p
	}
	var defNode, choicesNode, typeNode *yaml.Node
	for _, e := range w.entries(n, path) {
		field := join(path, e.key.Value)
		switch e.key.Value {
		case "type":
			typeNode = e.value
			switch {
			case !isScalar(e.value):
				w.errorf(e.value, field, "must be one of %s, not %s", strings.Join(paramTypes, ", "), describe(e.value))
			case !slices.Contains(paramTypes, e.value.Value):
				w.errorf(e.value, field, "unknown type %q%s; use one of %s", e.value.Value, w.didYouMean(e.value.Value, paramTypes), strings.Join(paramTypes, ", "))
			default:
				p.Type = e.value.Value
			}
		case "default":
			defNode = e.value
		case "choices":
			choicesNode = e.value
		case "description":
			p.Description = w.text(e.value, field)
		case "required":
			p.Required = w.boolean(e.value, field)
		default:
			w.unknownKey(e.key, path, paramKeys)
		}
	}
	if choicesNode != nil {
		if p.Type != ParamChoice {
			w.errorf(choicesNode, join(path, "choices"), "only a parameter of type choice has choices; add `type: choice`")
		} else {
			p.Choices = w.choices(choicesNode, join(path, "choices"))
		}
	} else if p.Type == ParamChoice && typeNode != nil {
		w.errorf(typeNode, join(path, "choices"), "missing; a choice parameter needs a list of choices")
	}
	if defNode != nil {
		field := join(path, "default")
		switch {
		case defNode.Kind != yaml.ScalarNode:
			w.errorf(defNode, field, "must be a single value, not %s", describe(defNode))
		case p.Required:
			w.errorf(defNode, field, "a required parameter has no default: callers must give it; remove `required` or the default")
		default:
			p.Default, p.HasDefault = defNode.Value, true
			if p.Type != ParamChoice || len(p.Choices) > 0 {
				if _, msg := typedParam(p, p.Default); msg != "" {
					w.errorf(defNode, field, "%s (the parameter's type is %s)", msg, p.Type)
				}
			}
		}
	}
	return p
}

// choices reads the non-empty list of distinct choices.
func (w *walker) choices(n *yaml.Node, path string) []string {
	if n.Kind != yaml.SequenceNode {
		w.errorf(n, path, "must be a list of values, not %s", describe(n))
		return nil
	}
	var out []string
	for _, item := range w.items(n) {
		switch {
		case item.Kind != yaml.ScalarNode || isNull(item):
			w.errorf(item, path, "must be a value, not %s", describe(item))
		case slices.Contains(out, item.Value):
			w.errorf(item, path, "duplicate choice %q", item.Value)
		default:
			out = append(out, item.Value)
		}
	}
	if len(out) == 0 && len(n.Content) == 0 {
		w.errorf(n, path, "must list at least one choice")
	}
	return out
}

// paramEnv is the env a job sees for the run's parameters.
func paramEnv(params []*Param, values []ParamValue) []lathe.EnvVar {
	out := make([]lathe.EnvVar, 0, len(values))
	for i, v := range values {
		out = append(out, lathe.EnvVar{Name: params[i].EnvName(), Value: v.Value.Text()})
	}
	return out
}
