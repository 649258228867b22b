package expr

import "strconv"

// Kind is the type of a Value.
type Kind int

// The kinds of value; the zero Value is the empty string.
const (
	KindString Kind = iota
	KindNumber
	KindBool
)

// String names the kind as messages say it.
func (k Kind) String() string {
	switch k {
	case KindNumber:
		return "number"
	case KindBool:
		return "boolean"
	default:
		return "string"
	}
}

// Value is a string, a number or a boolean. The zero Value is "".
type Value struct {
	kind Kind
	// str is a string, or a number's plain decimal text (see ParseNumber).
	str string
	b   bool
}

// String returns a string value.
func String(s string) Value { return Value{kind: KindString, str: s} }

// Number returns a number value: n, which must be finite, in the fewest
// digits that read back as n (3, 1.5, 1000000). ParseNumber keeps a
// number's digits exactly.
func Number(n float64) Value {
	return Value{kind: KindNumber, str: strconv.FormatFloat(n, 'f', -1, 64)}
}

// Bool returns a boolean value.
func Bool(b bool) Value { return Value{kind: KindBool, b: b} }

// Kind says which type the value has.
func (v Value) Kind() Kind { return v.kind }

// Text is the value as text: strings as they are, numbers in plain
// decimal (3, 1.5, 1000000, never 1e+06), booleans as true or false. It
// is what env variables hold.
func (v Value) Text() string {
	switch v.kind {
	case KindBool:
		return strconv.FormatBool(v.b)
	default:
		return v.str
	}
}

// Truthy says whether the value counts as true: false, "" and 0 do not.
func (v Value) Truthy() bool {
	switch v.kind {
	case KindNumber:
		return numberKey(v.str) != "0"
	case KindBool:
		return v.b
	default:
		return v.str != ""
	}
}

// Equal compares by value within a type (numbers numerically and exactly:
// 1.50 is 1.5) and by text across types.
func (v Value) Equal(o Value) bool {
	if v.kind != o.kind {
		return v.Text() == o.Text()
	}
	switch v.kind {
	case KindNumber:
		return numberKey(v.str) == numberKey(o.str)
	case KindBool:
		return v.b == o.b
	default:
		return v.str == o.str
	}
}
