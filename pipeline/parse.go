package pipeline

import (
	"fmt"

	"go.yaml.in/yaml/v3"
)

// topKeys are the keys a pipeline file may have at its top level.
var topKeys = []string{"name", "on", "parameters", "env", "stages", "when", "max-runs", "auto_cancel", "numbering", "templates", "jobs"}

// Parse parses and validates all pipeline files of one commit, returning the
// pipelines in the order of files. On any problem it returns no pipelines and
// an ErrorList holding every problem in every file, including two files that
// define the same pipeline name. Callers that want to run the valid
// pipelines of a partly broken commit can call ParseFile per file instead.
func Parse(files []File) ([]*Pipeline, error) {
	pipelines, errs, _ := parseAll(files)
	if err := errs.err(); err != nil {
		return nil, err
	}
	return pipelines, nil
}

// Lint checks pipeline files as Parse does and also returns warnings:
// things that are allowed but probably not meant, such as a parameter no
// job uses or a job whose conditions can never hold. Both lists are sorted.
// Warnings of a file with errors may be incomplete, since some checks need
// a valid pipeline.
func Lint(files []File) (errs, warns ErrorList) {
	pipelines, errs, warns := parseAll(files)
	names := make(map[string]bool, len(pipelines))
	for _, p := range pipelines {
		names[p.Name] = true
	}
	for _, p := range pipelines {
		for _, up := range p.Triggers.After {
			if !names[up] && len(errs) == 0 {
				warns = append(warns, &Error{File: p.File, Line: p.Triggers.afterLine, Column: 1, Field: "on.pipeline.after", Severity: SeverityWarning,
					Message: fmt.Sprintf("no pipeline %q is defined in these files; unless one is stored on the server, this trigger never fires", up)})
			}
		}
	}
	return errs.sorted(), warns.sorted()
}

// parseAll parses every file, checks that pipeline names are unique, and
// returns the pipelines that parsed cleanly with all errors and warnings.
func parseAll(files []File) ([]*Pipeline, ErrorList, ErrorList) {
	var errs, warns ErrorList
	pipelines := make([]*Pipeline, 0, len(files))
	defined := make(map[string]string) // pipeline name -> file
	for _, f := range files {
		p, namePos, fileErrs, fileWarns := parseFile(f.Path, f.Data)
		errs = append(errs, fileErrs...)
		warns = append(warns, fileWarns...)
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
	return pipelines, errs, warns
}

// ParseFile parses and validates one pipeline file. On any problem it returns
// a nil pipeline and an ErrorList holding every problem found.
func ParseFile(path string, data []byte) (*Pipeline, error) {
	p, _, errs, _ := parseFile(path, data)
	if err := errs.err(); err != nil {
		return nil, err
	}
	return p, nil
}

// position is where a pipeline's name comes from, for duplicate-name errors.
type position struct{ Line, Column int }

// parseFile does the work of ParseFile and also says where the pipeline's
// name was set, and returns the file's warnings. The pipeline is nil
// whenever there are errors.
func parseFile(file string, data []byte) (*Pipeline, position, ErrorList, ErrorList) {
	namePos := position{1, 1}
	root, errs := decode(file, data)
	if root == nil {
		return nil, namePos, errs, nil
	}
	w := newWalker(file)
	w.errs = errs
	root = w.resolve(root)
	if root.Kind != yaml.MappingNode {
		w.errorf(root, "", "the top level must be a map with keys such as name, stages and jobs, not %s", describe(root))
		return nil, namePos, w.errs, nil
	}

	p := &Pipeline{File: file, Name: defaultName(file), Stages: []string{DefaultStage}}
	var nameNode, jobsNode, templatesNode, whenNode, onNode *yaml.Node
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
				p.ExternalStages = st.externalNames()
			}
		case "jobs":
			jobsNode = e.value
		case "templates":
			templatesNode = e.value
		case "parameters":
			p.Params = w.params(e.value, "parameters")
		case "when":
			whenNode = e.value
		case "on":
			onNode = e.value
		case "max-runs":
			p.MaxRuns = w.maxRuns(e.value, "max-runs")
		case "auto_cancel":
			p.AutoCancel = w.boolean(e.value, "auto_cancel")
		case "numbering":
			p.NumberPerBranch = w.numbering(e.value, "numbering")
		default:
			w.unknownKey(e.key, "", topKeys)
		}
	}

	if nameNode != nil {
		namePos = position{max(nameNode.Line, 1), max(nameNode.Column, 1)}
		p.Name = w.name(nameNode, "name")
	} else if !validName(p.Name) {
		w.errorf(root, "name", "the name %q taken from the file name is not valid (%s); add a `name:` key", p.Name, nameRule)
	}

	p.Triggers = defaultTriggers()
	if onNode != nil {
		p.Triggers = w.triggers(onNode, "on", p.Name)
	}
	w.declared = make(map[string]bool, len(p.Params))
	for _, prm := range p.Params {
		w.declared[prm.Name] = true
	}
	if whenNode != nil {
		if p.When = w.when(whenNode, "when"); p.When != nil {
			w.checkCondition(p.When.If, "when.if", condScope{params: w.declared, where: "in the pipeline's when"})
		}
	}

	var srcs []*jobSrc
	if jobsNode == nil {
		w.errorf(root, "jobs", "missing; a pipeline needs a map of jobs to run")
	} else {
		srcs = w.jobs(templatesNode, jobsNode, st)
		w.checkNeeds(srcs, st)
		w.checkExpansion(jobsNode, srcs)
		for _, s := range srcs {
			p.Jobs = append(p.Jobs, s.job)
		}
		setDeps(p, srcs, st)
	}

	if len(w.errs) > 0 {
		return nil, namePos, w.errs, w.warns
	}
	w.lint(p, srcs)
	return p, namePos, nil, w.warns
}

// name reads a pipeline name.
func (w *walker) name(n *yaml.Node, path string) string {
	if !isScalar(n) {
		w.errorf(n, path, "must be a name (%s), not %s", nameRule, describe(n))
		return ""
	}
	if !validName(n.Value) {
		w.errorf(n, path, "%q is not a valid name: %s", n.Value, nameRule)
	}
	return n.Value
}
