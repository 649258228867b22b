package expr

import (
	"fmt"

	"github.com/bmatcuk/doublestar/v4"
)

const (
	// MaxLength bounds the source of one expression, in bytes.
	MaxLength = 1024
	// MaxDepth bounds nesting of parentheses and `!`, so a hostile
	// expression cannot exhaust the stack.
	MaxDepth = 32
)

// Error is a problem in an expression, located by byte offset so the
// caller can map it to a line and column of the file it came from.
type Error struct {
	// Offset is the 0-based byte offset of the problem in the source.
	Offset  int
	Message string
}

// Error formats the problem with a 1-based column.
func (e *Error) Error() string {
	return fmt.Sprintf("column %d: %s", e.Offset+1, e.Message)
}

// Var is a variable an expression reads, with where it is written.
type Var struct {
	Name   string
	Offset int
}

// Expr is a parsed expression, ready to evaluate any number of times.
type Expr struct {
	src  string
	root node
	vars []Var
}

// String returns the source text.
func (e *Expr) String() string { return e.src }

// Vars lists the variables the expression reads, in source order, so the
// caller can reject names it does not provide before evaluating.
func (e *Expr) Vars() []Var { return e.vars }

// Constant reports whether the expression reads no variable and calls no
// function, so its value never changes.
func (e *Expr) Constant() bool { return isConstant(e.root) }

// Parse parses an expression.
func Parse(src string) (*Expr, error) {
	if len(src) > MaxLength {
		return nil, errorf(MaxLength, "expression is %d bytes long; the limit is %d", len(src), MaxLength)
	}
	p := &parser{lex: lexer{src: src}}
	if err := p.advance(); err != nil {
		return nil, err
	}
	if p.tok.kind == tokEOF {
		return nil, errorf(0, "expression is empty")
	}
	root, err := p.or(0)
	if err != nil {
		return nil, err
	}
	if p.tok.kind != tokEOF {
		return nil, p.unexpected("&&, || or the end")
	}
	return &Expr{src: src, root: root, vars: p.vars}, nil
}

// parser is a recursive-descent parser with one token of lookahead.
type parser struct {
	lex  lexer
	tok  token
	vars []Var
}

func (p *parser) advance() error {
	t, err := p.lex.next()
	if err != nil {
		return err
	}
	p.tok = t
	return nil
}

// unexpected reports the current token where something else was expected.
func (p *parser) unexpected(want string) error {
	if p.tok.kind == tokEOF {
		return errorf(p.tok.off, "expression ends early; expected %s", want)
	}
	text := p.tok.text
	if p.tok.kind == tokString {
		text = fmt.Sprintf("%q", text)
	}
	return errorf(p.tok.off, "unexpected %s; expected %s", text, want)
}

func (p *parser) or(depth int) (node, error) {
	left, err := p.and(depth)
	for err == nil && p.tok.kind == tokOp && p.tok.text == "||" {
		if err = p.advance(); err != nil {
			break
		}
		var right node
		if right, err = p.and(depth); err == nil {
			left = &logic{or: true, left: left, right: right}
		}
	}
	return left, err
}

func (p *parser) and(depth int) (node, error) {
	left, err := p.compare(depth)
	for err == nil && p.tok.kind == tokOp && p.tok.text == "&&" {
		if err = p.advance(); err != nil {
			break
		}
		var right node
		if right, err = p.compare(depth); err == nil {
			left = &logic{left: left, right: right}
		}
	}
	return left, err
}

func (p *parser) compare(depth int) (node, error) {
	left, err := p.unary(depth)
	if err != nil || p.tok.kind != tokOp {
		return left, err
	}
	op := p.tok
	switch op.text {
	case "==", "!=", "=~", "!~":
	default:
		return left, nil
	}
	if err := p.advance(); err != nil {
		return nil, err
	}
	right, err := p.unary(depth)
	if err != nil {
		return nil, err
	}
	if (op.text == "=~" || op.text == "!~") && isConstant(right) {
		if pat := right.eval(nil).Text(); !doublestar.ValidatePattern(pat) {
			return nil, errorf(op.off, "%q is not a valid glob", pat)
		}
	}
	if p.tok.kind == tokOp && (p.tok.text == "==" || p.tok.text == "!=" || p.tok.text == "=~" || p.tok.text == "!~") {
		return nil, errorf(p.tok.off, "comparisons do not chain; add parentheses")
	}
	return &compare{op: op.text, left: left, right: right}, nil
}

func (p *parser) unary(depth int) (node, error) {
	if depth >= MaxDepth {
		return nil, errorf(p.tok.off, "expression nests more than %d levels deep", MaxDepth)
	}
	if p.tok.kind == tokOp && p.tok.text == "!" {
		if err := p.advance(); err != nil {
			return nil, err
		}
		x, err := p.unary(depth + 1)
		if err != nil {
			return nil, err
		}
		return &not{x: x}, nil
	}
	return p.primary(depth)
}

func (p *parser) primary(depth int) (node, error) {
	t := p.tok
	switch t.kind {
	case tokString:
		return &literal{v: String(t.text)}, p.advance()
	case tokNumber:
		return &literal{v: t.num}, p.advance()
	case tokLParen:
		if err := p.advance(); err != nil {
			return nil, err
		}
		x, err := p.or(depth + 1)
		if err != nil {
			return nil, err
		}
		if p.tok.kind != tokRParen {
			return nil, p.unexpected(")")
		}
		return x, p.advance()
	case tokIdent:
		if err := p.advance(); err != nil {
			return nil, err
		}
		switch {
		case t.text == "true" || t.text == "false":
			return &literal{v: Bool(t.text == "true")}, nil
		case p.tok.kind == tokLParen:
			return p.call(t)
		}
		p.vars = append(p.vars, Var{Name: t.text, Offset: t.off})
		return &variable{name: t.text}, nil
	}
	return nil, p.unexpected("a value, a name or (")
}

// call reads the arguments of a function call; changed is the only function.
func (p *parser) call(name token) (node, error) {
	if name.text != "changed" {
		return nil, errorf(name.off, "unknown function %q; the only function is changed(\"glob\", ...)", name.text)
	}
	c := &changed{}
	for {
		if err := p.advance(); err != nil {
			return nil, err
		}
		if p.tok.kind != tokString {
			return nil, p.unexpected("a glob in quotes")
		}
		if !doublestar.ValidatePattern(p.tok.text) {
			return nil, errorf(p.tok.off, "%q is not a valid glob", p.tok.text)
		}
		c.globs = append(c.globs, p.tok.text)
		if err := p.advance(); err != nil {
			return nil, err
		}
		if p.tok.kind == tokRParen {
			return c, p.advance()
		}
		if p.tok.kind != tokComma {
			return nil, p.unexpected(", or )")
		}
	}
}
