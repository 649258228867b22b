package pipeline

import (
	"errors"
	"maps"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/lathe-ci/lathe/pipeline/expr"
	"go.yaml.in/yaml/v3"
)

// Condition is a parsed `if:` expression (see package expr for the
// language), kept with its source text.
type Condition struct {
	// Source is the expression as written.
	Source string
	expr   *expr.Expr
	node   *yaml.Node
}

// True evaluates the condition in a scope.
func (c *Condition) True(s *expr.Scope) bool { return c.expr.True(s) }

// Constant reports whether the condition reads no variable, so it is
// always true or always false.
func (c *Condition) Constant() bool { return c.expr.Constant() }

// eventVars are the variables every condition may read, filled from the
// Event a plan is made for.
var eventVars = []string{"branch", "tag", "ref", "commit", "event", "pipeline", "upstream"}

// varRoots are the prefixes of the families of variables.
var varRoots = []string{"params", "env", "matrix"}

// condition parses an expression written at n. Its variables are checked
// later, by checkCondition, once the parameters and matrix are known.
func (w *walker) condition(n *yaml.Node, path string) *Condition {
	if !isScalar(n) {
		w.errorf(n, path, "must be an expression such as branch == \"main\", not %s", describe(n))
		return nil
	}
	if n.Tag == "!!bool" {
		// `if: false` is a YAML boolean; as an expression it means the same.
		n = &yaml.Node{Kind: n.Kind, Tag: "!!str", Value: strings.ToLower(n.Value), Line: n.Line, Column: n.Column}
	}
	e, err := expr.Parse(n.Value)
	if err != nil {
		var pe *expr.Error
		if errors.As(err, &pe) {
			w.exprErrorf(n, pe.Offset, path, "%s", pe.Message)
		}
		return nil
	}
	return &Condition{Source: n.Value, expr: e, node: n}
}

// condScope is what a condition may refer to besides the event variables.
type condScope struct {
	params map[string]bool
	// axes are the matrix axes; nil where no matrix applies.
	axes map[string]bool
	// where names the place for messages about matrix variables.
	where string
}

// checkCondition reports every variable of c that the scope lacks.
func (w *walker) checkCondition(c *Condition, path string, sc condScope) {
	if c == nil {
		return
	}
	for _, v := range c.expr.Vars() {
		root, rest, dotted := strings.Cut(v.Name, ".")
		switch {
		case !dotted && slices.Contains(eventVars, root):
		case !dotted && slices.Contains(varRoots, root):
			w.exprErrorf(c.node, v.Offset, path, "%s is a family of variables; name one, as in %s.NAME", root, root)
		case !dotted:
			w.exprErrorf(c.node, v.Offset, path, "unknown variable %q%s; variables are %s and params.NAME, env.NAME, matrix.NAME",
				v.Name, w.didYouMean(v.Name, append(append([]string{}, eventVars...), varRoots...)), strings.Join(eventVars, ", "))
		case strings.Contains(rest, "."):
			w.exprErrorf(c.node, v.Offset, path, "unknown variable %q; names have at most one dot", v.Name)
		case root == "params" && !sc.params[rest]:
			w.exprErrorf(c.node, v.Offset, path, "unknown parameter %q%s; declare it under the top-level `parameters:`", rest, w.didYouMean(rest, keys(sc.params)))
		case root == "matrix" && sc.axes == nil:
			w.exprErrorf(c.node, v.Offset, path, "matrix.%s cannot be used %s, which has no matrix", rest, sc.where)
		case root == "matrix" && !sc.axes[rest]:
			w.exprErrorf(c.node, v.Offset, path, "unknown matrix axis %q%s", rest, w.didYouMean(rest, keys(sc.axes)))
		case root == "env" || root == "params" || root == "matrix":
		default:
			w.exprErrorf(c.node, v.Offset, path, "unknown variable %q%s; variables are %s and params.NAME, env.NAME, matrix.NAME",
				v.Name, w.didYouMean(root, varRoots), strings.Join(eventVars, ", "))
		}
	}
}

// exprErrorf records a problem at byte offset off of the expression written
// at n. On a one-line plain or quoted scalar the column points into the
// expression; elsewhere (block scalars, folded lines) the YAML library
// does not say where the text starts, so the error points at the value and
// the message gives the column within the expression.
func (w *walker) exprErrorf(n *yaml.Node, off int, path, format string, args ...any) {
	line, col, exact := exprPos(n, off)
	at := &yaml.Node{Line: line, Column: col}
	if !exact {
		w.errorf(at, path, "in the expression at column %d: "+format, append([]any{utf8.RuneCountInString(n.Value[:min(off, len(n.Value))]) + 1}, args...)...)
		return
	}
	w.errorf(at, path, format, args...)
}

// exprPos maps a byte offset within the scalar n to a file position, and
// says whether the mapping is exact.
func exprPos(n *yaml.Node, off int) (line, col int, exact bool) {
	off = min(max(off, 0), len(n.Value))
	if strings.Contains(n.Value, "\n") {
		return n.Line, n.Column, false
	}
	runes := utf8.RuneCountInString(n.Value[:off])
	switch n.Style {
	case 0:
		return n.Line, n.Column + runes, true
	case yaml.SingleQuotedStyle:
		if !strings.Contains(n.Value, "'") {
			return n.Line, n.Column + 1 + runes, true
		}
	case yaml.DoubleQuotedStyle:
		// Escapes make the source longer than the value; only map exactly
		// when there are none to count.
		if !strings.ContainsAny(n.Value, "\\\"\t") {
			return n.Line, n.Column + 1 + runes, true
		}
	}
	return n.Line, n.Column, false
}

// keys lists a set's members in order, for suggestions.
func keys(set map[string]bool) []string {
	return slices.Sorted(maps.Keys(set))
}
