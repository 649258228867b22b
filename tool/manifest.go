// Package tool reads reusable tools: named, versioned steps published to
// the server as gzipped tar archives holding a manifest (ManifestFile) and
// the files the entry point needs. A step uses one as `uses: NAME@VERSION`
// with `with:` parameters, which reach the entry point as environment
// variables INPUT_<PARAM> (upper case, '-' as '_').
package tool

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/pipeline/expr"
	"go.yaml.in/yaml/v3"
)

// ManifestFile is the manifest's name at the archive's (and directory's) root.
const ManifestFile = "lathe-tool.yml"

// The parameter types a manifest may declare.
const (
	TypeString  = "string"
	TypeNumber  = "number"
	TypeBoolean = "boolean"
)

var (
	namePattern    = lathe.ToolNamePattern
	versionPattern = lathe.ToolVersionPattern
	paramPattern   = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]{0,62}$`) })
)

// Manifest describes a tool: what it is called, its parameters, and the
// file to run.
type Manifest struct {
	Name        string `json:"name" yaml:"name"`
	Version     string `json:"version" yaml:"version"`
	Description string `json:"description,omitempty" yaml:"description"`
	// Entrypoint is the executable file run, relative to the tool's root.
	Entrypoint string `json:"entrypoint" yaml:"entrypoint"`
	// Params are the parameters by name.
	Params map[string]Param `json:"params,omitempty" yaml:"params"`
}

// Param is one parameter of a tool. A parameter with no default is
// required.
type Param struct {
	// Type is TypeString (the default), TypeNumber or TypeBoolean.
	Type        string  `json:"type" yaml:"type"`
	Description string  `json:"description,omitempty" yaml:"description"`
	Default     *string `json:"default,omitempty" yaml:"default"`
}

// Ref is "NAME@VERSION".
func (m *Manifest) Ref() string { return m.Name + "@" + m.Version }

// ParseManifest reads and checks a manifest.
func ParseManifest(b []byte) (*Manifest, error) {
	var m Manifest
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("%s: %w", ManifestFile, err)
	}
	if err := m.Check(); err != nil {
		return nil, err
	}
	return &m, nil
}

// Check says what is wrong with a manifest, naming the field.
func (m *Manifest) Check() error {
	switch {
	case !namePattern().MatchString(m.Name):
		return fmt.Errorf("%s: name %q: must be 1 to 63 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit", ManifestFile, m.Name)
	case !versionPattern().MatchString(m.Version):
		return fmt.Errorf("%s: version %q: must be 1 to 63 letters, digits, '.', '_', '+' or '-', starting with a letter or digit", ManifestFile, m.Version)
	case m.Entrypoint == "":
		return fmt.Errorf("%s: entrypoint: missing; name the executable file to run, as in `entrypoint: run.sh`", ManifestFile)
	}
	if _, err := CleanPath(m.Entrypoint); err != nil {
		return fmt.Errorf("%s: entrypoint: %w", ManifestFile, err)
	}
	for name, p := range m.Params {
		if !paramPattern().MatchString(name) {
			return fmt.Errorf("%s: params.%s: a parameter name is a letter then letters, digits, '_' or '-'", ManifestFile, name)
		}
		if p.Type == "" {
			p.Type = TypeString
			m.Params[name] = p
		}
		if !slices.Contains([]string{TypeString, TypeNumber, TypeBoolean}, p.Type) {
			return fmt.Errorf("%s: params.%s.type %q: must be string, number or boolean", ManifestFile, name, p.Type)
		}
		if p.Default != nil {
			if err := checkType(p.Type, *p.Default); err != nil {
				return fmt.Errorf("%s: params.%s.default: %w", ManifestFile, name, err)
			}
		}
	}
	return nil
}

func checkType(typ, v string) error {
	switch typ {
	case TypeNumber:
		if _, ok := expr.ParseNumber(v); !ok {
			return fmt.Errorf("%q is not a number", v)
		}
	case TypeBoolean:
		if v != "true" && v != "false" {
			return fmt.Errorf("%q is not a boolean (true or false)", v)
		}
	}
	return nil
}

// EnvName is the environment variable a parameter reaches the entry point as.
func EnvName(param string) string {
	return "INPUT_" + strings.ToUpper(strings.ReplaceAll(param, "-", "_"))
}

// Inputs checks a step's `with:` against the manifest and returns every
// parameter's value (defaults filled in) by name. Errors name the field.
func (m *Manifest) Inputs(with map[string]string) (map[string]string, error) {
	var problems []string
	out := map[string]string{}
	keys := make([]string, 0, len(with))
	for k := range with {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		p, ok := m.Params[k]
		if !ok {
			problems = append(problems, fmt.Sprintf("with.%s: %s has no parameter %q (it has: %s)", k, m.Ref(), k, strings.Join(m.paramNames(), ", ")))
			continue
		}
		if err := checkType(p.Type, with[k]); err != nil {
			problems = append(problems, fmt.Sprintf("with.%s: must be a %s: %v", k, p.Type, err))
			continue
		}
		out[k] = with[k]
	}
	for _, name := range m.paramNames() {
		if _, ok := with[name]; ok {
			continue
		}
		if p := m.Params[name]; p.Default != nil {
			out[name] = *p.Default
		} else {
			problems = append(problems, fmt.Sprintf("with.%s: missing; %s requires it", name, m.Ref()))
		}
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("%s", strings.Join(problems, "; "))
	}
	return out, nil
}

func (m *Manifest) paramNames() []string {
	names := make([]string, 0, len(m.Params))
	for n := range m.Params {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
