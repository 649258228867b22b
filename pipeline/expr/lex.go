package expr

import (
	"fmt"
	"strings"
)

// tokenKind is the lexical class of a token.
type tokenKind int

const (
	tokEOF tokenKind = iota
	tokString
	tokNumber
	tokIdent // a dotted name, or true/false
	tokOp    // == != =~ !~ && || !
	tokLParen
	tokRParen
	tokComma
)

// token is one lexeme with its byte offset in the source.
type token struct {
	kind tokenKind
	text string // the operator, the name, a string's decoded value or a number as written
	num  Value  // a number's value
	off  int
}

// lexer splits an expression into tokens.
type lexer struct {
	src string
	pos int
}

// errorf builds an Error at byte offset off.
func errorf(off int, format string, args ...any) *Error {
	return &Error{Offset: off, Message: fmt.Sprintf(format, args...)}
}

// next returns the next token.
func (l *lexer) next() (token, error) {
	for l.pos < len(l.src) && strings.IndexByte(" \t\r\n", l.src[l.pos]) >= 0 {
		l.pos++
	}
	start := l.pos
	if l.pos >= len(l.src) {
		return token{kind: tokEOF, off: start}, nil
	}
	c := l.src[l.pos]
	two := ""
	if l.pos+1 < len(l.src) {
		two = l.src[l.pos : l.pos+2]
	}
	switch {
	case two == "==" || two == "!=" || two == "=~" || two == "!~" || two == "&&" || two == "||":
		l.pos += 2
		return token{kind: tokOp, text: two, off: start}, nil
	case c == '!':
		l.pos++
		return token{kind: tokOp, text: "!", off: start}, nil
	case c == '(':
		l.pos++
		return token{kind: tokLParen, text: "(", off: start}, nil
	case c == ')':
		l.pos++
		return token{kind: tokRParen, text: ")", off: start}, nil
	case c == ',':
		l.pos++
		return token{kind: tokComma, text: ",", off: start}, nil
	case c == '"' || c == '\'':
		return l.str(c)
	case c == '-' || isDigit(c):
		return l.number()
	case isIdentStart(c):
		return l.ident()
	case c == '=':
		return token{}, errorf(start, "'=' alone is not an operator; write == to compare or =~ to match a glob")
	case c == '&' || c == '|':
		return token{}, errorf(start, "%q alone is not an operator; write %c%c", c, c, c)
	}
	return token{}, errorf(start, "unexpected character %q", rune(c))
}

// str reads a quoted string: double quotes allow \" \\ \n \t, single quotes
// take everything literally up to the next single quote.
func (l *lexer) str(quote byte) (token, error) {
	start := l.pos
	l.pos++
	var b strings.Builder
	for l.pos < len(l.src) {
		c := l.src[l.pos]
		switch {
		case c == quote:
			l.pos++
			return token{kind: tokString, text: b.String(), off: start}, nil
		case c == '\\' && quote == '"':
			if l.pos+1 >= len(l.src) {
				return token{}, errorf(start, "string is not closed; add a closing %c", quote)
			}
			esc := l.src[l.pos+1]
			switch esc {
			case '"', '\\':
				b.WriteByte(esc)
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			default:
				return token{}, errorf(l.pos, "unknown escape \\%c; strings allow \\\" \\\\ \\n \\t", esc)
			}
			l.pos += 2
		default:
			b.WriteByte(c)
			l.pos++
		}
	}
	return token{}, errorf(start, "string is not closed; add a closing %c", quote)
}

// number reads an optionally negative decimal number.
func (l *lexer) number() (token, error) {
	start := l.pos
	if l.src[l.pos] == '-' {
		l.pos++
	}
	for l.pos < len(l.src) && (isDigit(l.src[l.pos]) || l.src[l.pos] == '.') {
		l.pos++
	}
	text := l.src[start:l.pos]
	n, ok := ParseNumber(text)
	if !ok || strings.HasSuffix(text, ".") {
		return token{}, errorf(start, "%q is not a number", text)
	}
	if l.pos < len(l.src) && isIdentStart(l.src[l.pos]) {
		return token{}, errorf(start, "a name cannot start with a digit; quote %q if it is a string", text+string(l.src[l.pos]))
	}
	return token{kind: tokNumber, num: n, text: text, off: start}, nil
}

// ident reads a dotted name: segments of letters, digits, '_' and '-',
// each starting with a letter or '_'.
func (l *lexer) ident() (token, error) {
	start := l.pos
	for {
		if l.pos >= len(l.src) || !isIdentStart(l.src[l.pos]) {
			return token{}, errorf(l.pos, "expected a name after '.'")
		}
		for l.pos < len(l.src) && isIdentPart(l.src[l.pos]) {
			l.pos++
		}
		if l.pos >= len(l.src) || l.src[l.pos] != '.' {
			break
		}
		l.pos++
	}
	return token{kind: tokIdent, text: l.src[start:l.pos], off: start}, nil
}

func isDigit(c byte) bool      { return '0' <= c && c <= '9' }
func isIdentStart(c byte) bool { return c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
func isIdentPart(c byte) bool  { return isIdentStart(c) || isDigit(c) || c == '-' }
