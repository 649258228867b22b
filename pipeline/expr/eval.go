package expr

import "github.com/bmatcuk/doublestar/v4"

// Scope is what an expression may read.
type Scope struct {
	// Lookup returns the value of a variable; a variable it does not know
	// is the empty string.
	Lookup func(name string) (Value, bool)
	// Changed lists the files changed by the event, as slash-separated
	// paths relative to the repository root. Nil means unknown, which makes
	// every changed(...) true.
	Changed []string
}

// Eval evaluates the expression and returns its value.
func (e *Expr) Eval(s *Scope) Value { return e.root.eval(s) }

// True evaluates the expression and reports whether its value is truthy.
func (e *Expr) True(s *Scope) bool { return e.root.eval(s).Truthy() }

// node is one node of the syntax tree. eval is called with a nil scope
// only on constant nodes.
type node interface {
	eval(s *Scope) Value
}

type literal struct{ v Value }

func (n *literal) eval(*Scope) Value { return n.v }

type variable struct{ name string }

func (n *variable) eval(s *Scope) Value {
	if s != nil && s.Lookup != nil {
		if v, ok := s.Lookup(n.name); ok {
			return v
		}
	}
	return String("")
}

type not struct{ x node }

func (n *not) eval(s *Scope) Value { return Bool(!n.x.eval(s).Truthy()) }

type logic struct {
	or          bool
	left, right node
}

func (n *logic) eval(s *Scope) Value {
	l := n.left.eval(s).Truthy()
	if l == n.or {
		return Bool(l)
	}
	return Bool(n.right.eval(s).Truthy())
}

type compare struct {
	op          string
	left, right node
}

func (n *compare) eval(s *Scope) Value {
	l, r := n.left.eval(s), n.right.eval(s)
	switch n.op {
	case "==":
		return Bool(l.Equal(r))
	case "!=":
		return Bool(!l.Equal(r))
	}
	// An invalid glob computed at run time matches nothing.
	ok, err := doublestar.Match(r.Text(), l.Text())
	matched := ok && err == nil
	return Bool(matched == (n.op == "=~"))
}

type changed struct{ globs []string }

func (n *changed) eval(s *Scope) Value {
	if s == nil || s.Changed == nil {
		return Bool(true)
	}
	for _, f := range s.Changed {
		for _, g := range n.globs {
			if ok, _ := doublestar.Match(g, f); ok {
				return Bool(true)
			}
		}
	}
	return Bool(false)
}

// isConstant reports whether n reads nothing from a scope.
func isConstant(n node) bool {
	switch n := n.(type) {
	case *literal:
		return true
	case *not:
		return isConstant(n.x)
	case *logic:
		return isConstant(n.left) && isConstant(n.right)
	case *compare:
		return isConstant(n.left) && isConstant(n.right)
	}
	return false
}
