package pipeline

import (
	"fmt"

	"go.yaml.in/yaml/v3"
)

// topKeys are the keys a pipeline file may have at its top level.
var topKeys = []string{"name", "env", "stages", "jobs"}

// Parse parses and validates all pipeline files of one commit, returning the
// pipelines in the order of files. On any problem it returns no pipelines and
// an ErrorList holding every problem in every file, including two files that
// define the same pipeline name. Callers that want to run the valid
// pipelines of a partly broken commit can call ParseFile per file instead.
func Parse(files []File) ([]*Pipeline, error) {
	var errs ErrorList
	pipelines := make([]*Pipeline, 0, len(files))
	defined := make(map[string]string) // pipeline name -> file
	for _, f := range files {
		p, namePos, fileErrs := parseFile(f.Path, f.Data)
		errs = append(errs, fileErrs...)
		if p == nil {
			continue
		}
		if first, dup := defined[p.Name]; dup {
			errs = append(errs, &Error{
				File: f.Path, Line: namePos.Line, Column: namePos.Column, Field: "name",
				Message: fmt.Sprintf("pipeline %q is already defined in %s; set a different name: in one of them", p.Name, first),
			})
			continue
		}
		defined[p.Name] = f.Path
		pipelines = append(pipelines, p)
	}
	if err := errs.err(); err != nil {
		return nil, err
	}
	return pipelines, nil
}

// ParseFile parses and validates one pipeline file. On any problem it returns
// a nil pipeline and an ErrorList holding every problem found.
func ParseFile(path string, data []byte) (*Pipeline, error) {
	p, _, errs := parseFile(path, data)
	if err := errs.err(); err != nil {
		return nil, err
	}
	return p, nil
}

// position is where a pipeline's name comes from, for duplicate-name errors.
type position struct{ Line, Column int }

// parseFile does the work of ParseFile and also says where the pipeline's
// name was set. The pipeline is nil whenever there are errors.
func parseFile(file string, data []byte) (*Pipeline, position, ErrorList) {
	namePos := position{1, 1}
	root, errs := decode(file, data)
	if root == nil {
		return nil, namePos, errs
	}
	w := newWalker(file)
	w.errs = errs
	root = w.resolve(root)
	if root.Kind != yaml.MappingNode {
		w.errorf(root, "", "the top level must be a map with keys such as name, stages and jobs, not %s", describe(root))
		return nil, namePos, w.errs
	}

	p := &Pipeline{File: file, Name: defaultName(file), Stages: []string{DefaultStage}}
	var nameNode, jobsNode *yaml.Node
	st := undeclaredStages()
	for _, e := range w.entries(root, "") {
		switch e.key.Value {
		case "name":
			nameNode = e.value
		case "env":
			p.Env = w.env(e.value, "env")
		case "stages":
			st = w.stages(e.value, "stages")
			if st.ok {
				p.Stages = st.names
			}
		case "jobs":
			jobsNode = e.value
		default:
			w.unknownKey(e.key, "", topKeys)
		}
	}

	if nameNode != nil {
		namePos = position{max(nameNode.Line, 1), max(nameNode.Column, 1)}
		p.Name = w.name(nameNode, "name")
	} else if !validName.MatchString(p.Name) {
		w.errorf(root, "name", "the name %q taken from the file name is not valid (%s); add a `name:` key", p.Name, nameRule)
	}

	if jobsNode == nil {
		w.errorf(root, "jobs", "missing; a pipeline needs a map of jobs to run")
	} else {
		srcs := w.jobs(jobsNode, "jobs", st)
		w.checkNeeds(srcs, st)
		for _, s := range srcs {
			p.Jobs = append(p.Jobs, s.job)
		}
		setDeps(p, srcs, st)
	}

	if len(w.errs) > 0 {
		return nil, namePos, w.errs
	}
	return p, namePos, nil
}

// name reads a pipeline name.
func (w *walker) name(n *yaml.Node, path string) string {
	if !isScalar(n) {
		w.errorf(n, path, "must be a name (%s), not %s", nameRule, describe(n))
		return ""
	}
	if !validName.MatchString(n.Value) {
		w.errorf(n, path, "%q is not a valid name: %s", n.Value, nameRule)
	}
	return n.Value
}
