package pipeline

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/lathe-ci/lathe"
)

// An upload's (or download's) name may hold `{{ matrix.AXIS }}`, replaced
// in a plan by the value of the job's matrix expansion, so the expansions
// of a matrix job upload under names of their own ("bin-{{ matrix.os }}"
// becomes bin-linux, bin-darwin) instead of fighting over one.

var matrixRef = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`\{\{\s*matrix\.([A-Za-z0-9_-]+)\s*\}\}`) })

// checkUploadNameTemplate checks a name with its matrix references taken
// as one letter each.
func checkUploadNameTemplate(name string) error {
	bare := matrixRef().ReplaceAllString(name, "m")
	if strings.Contains(bare, "{{") || strings.Contains(bare, "}}") {
		return fmt.Errorf("upload name %q: only {{ matrix.AXIS }} may appear between {{ and }}", name)
	}
	if bare == name {
		return lathe.CheckUploadName(name)
	}
	if err := lathe.CheckUploadName(bare); err != nil {
		return fmt.Errorf("upload name %q (its {{ matrix.… }} taken as one letter): %w", name, err)
	}
	return nil
}

// checkMatrixUploads reports an upload of a matrix job whose name would be
// the same in every expansion (they would refuse each other's uploads) or
// names an axis the matrix does not have.
func (w *walker) checkMatrixUploads(s *jobSrc) {
	m := s.job.Matrix
	for i, st := range s.job.Steps {
		a := st.Action
		if a == nil || a.Kind != ActionUpload && a.Kind != ActionDownload {
			continue
		}
		field := join(index(join(s.path, "steps"), i), a.Kind)
		at := s.key // the name's own line when it is known
		if n := w.actionNames[a]; n != nil {
			at = n
		}
		for _, ref := range matrixRef().FindAllStringSubmatch(a.Name, -1) {
			if m == nil || !slices.Contains(matrixKeys(m), ref[1]) {
				w.errorf(at, join(field, "name"), "%q names matrix.%s, which this job's matrix does not have", a.Name, ref[1])
			}
		}
		if a.Kind != ActionUpload || m == nil || len(m.Combinations()) < 2 {
			continue
		}
		if !matrixRef().MatchString(a.Name) {
			w.errorf(at, join(field, "name"), "every expansion of this matrix job would upload %q, and all but the first would be refused; "+
				"put the matrix values in the name, as in %q", a.Name, a.Name+"-{{ matrix."+matrixKeys(m)[0]+" }}")
		} else if name, twice := sharedName(a.Name, m); twice != "" {
			w.errorf(at, join(field, "name"), "expansions %s would both upload %q, and the second would be refused; "+
				"name every axis that tells them apart", twice, name)
		}
	}
}

// matrixKeys are the names a matrix's combinations may hold: its axes and
// the keys its includes add.
func matrixKeys(m *Matrix) []string {
	var keys []string
	for _, a := range m.Axes {
		keys = append(keys, a.Name)
	}
	for _, inc := range m.Include {
		for _, v := range inc {
			if !slices.Contains(keys, v.Name) {
				keys = append(keys, v.Name)
			}
		}
	}
	if len(keys) == 0 {
		keys = []string{"AXIS"}
	}
	return keys
}

// matrixSteps returns steps with the matrix references of upload and
// download names replaced by combo's values (characters a name may not
// hold become '-'); steps is returned as is when there are none.
func matrixSteps(steps []lathe.StepDef, combo []MatrixValue) []lathe.StepDef {
	var out []lathe.StepDef
	for i, st := range steps {
		if st.Action == nil || !matrixRef().MatchString(st.Action.Name) {
			continue
		}
		if out == nil {
			out = slices.Clone(steps)
		}
		act := *st.Action
		act.Name = matrixRef().ReplaceAllStringFunc(act.Name, func(ref string) string {
			axis := matrixRef().FindStringSubmatch(ref)[1]
			for _, v := range combo {
				if v.Name == axis {
					return nameSafe(v.Value)
				}
			}
			return "none"
		})
		out[i].Action = &act
		if out[i].Name == strings.TrimSpace(st.Action.Kind+" "+st.Action.Name) {
			out[i].Name = act.Kind + " " + act.Name
		}
	}
	if out == nil {
		return steps
	}
	return out
}

// sharedName returns a name that two expansions of matrix m would both
// upload under the name template name, and says which two; "" when every
// expansion's name is its own.
func sharedName(name string, m *Matrix) (string, string) {
	step := []lathe.StepDef{{Action: &lathe.StepAction{Kind: ActionUpload, Name: name}}}
	seen := map[string][]MatrixValue{}
	for _, combo := range m.Combinations() {
		n := matrixSteps(step, combo)[0].Action.Name
		if first, ok := seen[n]; ok {
			return n, strings.TrimSpace(matrixName("", first)) + " and " + strings.TrimSpace(matrixName("", combo))
		}
		seen[n] = combo
	}
	return "", ""
}

// nameSafe makes a matrix value fit in an upload name.
func nameSafe(v string) string {
	b := []byte(v)
	for i, c := range b {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			b[i] = '-'
		}
	}
	s := strings.ReplaceAll(string(b), "..", "-")
	if s == "" {
		return "none"
	}
	return s
}

// uploadNames warns, for a whole pipeline, about an upload name two jobs
// share (when both run, the second is refused: a run takes each name
// once) and a download of a name no job of the pipeline uploads (it would
// fail). Names with {{ matrix.… }} are matched as patterns; two jobs that
// never run in the same run (their conditions part them) may share a
// name, which is why these are warnings.
func (w *walker) uploadNames(srcs []*jobSrc) {
	type upload struct {
		job     string
		pattern *regexp.Regexp
	}
	var uploads []upload
	firstBy := map[string]string{}
	for _, s := range srcs {
		for i, st := range s.job.Steps {
			a := st.Action
			if a == nil || a.Kind != ActionUpload {
				continue
			}
			uploads = append(uploads, upload{s.job.Name, uploadPattern(a.Name)})
			if matrixRef().MatchString(a.Name) {
				continue
			}
			if other, ok := firstBy[a.Name]; ok && other != s.job.Name {
				w.warnf(s.key, join(join(index(join(s.path, "steps"), i), ActionUpload), "name"),
					"%s uploads %q too; when both run, the second upload is refused (a run takes each name once): name them apart", other, a.Name)
				continue
			}
			firstBy[a.Name] = s.job.Name
		}
	}
	for _, s := range srcs {
		for i, st := range s.job.Steps {
			a := st.Action
			if a == nil || a.Kind != ActionDownload || matrixRef().MatchString(a.Name) {
				continue
			}
			if !slices.ContainsFunc(uploads, func(u upload) bool { return u.pattern.MatchString(a.Name) }) {
				w.warnf(s.key, join(join(index(join(s.path, "steps"), i), ActionDownload), "name"),
					"no job of this pipeline uploads %q, so this download fails", a.Name)
			}
		}
	}
}

// uploadPattern matches the names an upload name stands for: itself, or
// with its {{ matrix.… }} any value a name may hold there.
func uploadPattern(name string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString("^")
	last := 0
	for _, m := range matrixRef().FindAllStringIndex(name, -1) {
		b.WriteString(regexp.QuoteMeta(name[last:m[0]]))
		b.WriteString(".+")
		last = m[1]
	}
	b.WriteString(regexp.QuoteMeta(name[last:]) + "$")
	return regexp.MustCompile(b.String())
}
