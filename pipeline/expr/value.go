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
	str  string
	num  float64
	b    bool
}

// String returns a string value.
func String(s string) Value { return Value{kind: KindString, str: s} }

// Number returns a number value.
func Number(n float64) Value { return Value{kind: KindNumber, num: n} }

// Bool returns a boolean value.
func Bool(b bool) Value { return Value{kind: KindBool, b: b} }

// Kind says which type the value has.
func (v Value) Kind() Kind { return v.kind }

// Text is the value as text: strings as they are, numbers in shortest form
// (3, 1.5), booleans as true or false. It is what env variables hold.
func (v Value) Text() string {
	switch v.kind {
	case KindNumber:
		return strconv.FormatFloat(v.num, 'g', -1, 64)
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
		return v.num != 0
	case KindBool:
		return v.b
	default:
		return v.str != ""
	}
}

// Equal compares by value within a type and by text across types.
func (v Value) Equal(o Value) bool {
	if v.kind != o.kind {
		return v.Text() == o.Text()
	}
	switch v.kind {
	case KindNumber:
		return v.num == o.num
	case KindBool:
		return v.b == o.b
	default:
		return v.str == o.str
	}
}
