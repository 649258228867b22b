package expr

import (
	"strconv"
	"strings"
)

// maxExponent bounds the exponent ParseNumber writes out, so a short
// 1e999999999 cannot become a billion digits.
const maxExponent = 1000

// ParseNumber reads a decimal number: an optional sign, digits with an
// optional fraction, and an optional exponent (1e6, 2.5E-3). The value's
// text is the number in plain decimal, exactly as written but for what
// does not belong in it: a '+' sign, leading zeros, a bare '.' (".5" is
// "0.5") and an exponent (1e6 is "1000000"). Digits are never lost or
// rounded, so an integer of any size keeps every digit. It reports false
// for anything else, such as hexadecimal, "Inf" or an exponent over 1000.
func ParseNumber(s string) (Value, bool) {
	neg := false
	if s != "" && (s[0] == '+' || s[0] == '-') {
		neg = s[0] == '-'
		s = s[1:]
	}
	mant, exp := s, 0
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		e, err := strconv.Atoi(s[i+1:])
		if err != nil || e < -maxExponent || e > maxExponent {
			return Value{}, false
		}
		mant, exp = s[:i], e
	}
	whole, frac, _ := strings.Cut(mant, ".")
	if whole+frac == "" || !allDigits(whole) || !allDigits(frac) {
		return Value{}, false
	}
	if exp != 0 {
		// Move the decimal point exp places to the right.
		digits, point := whole+frac, len(whole)+exp
		switch {
		case point <= 0:
			whole, frac = "0", strings.Repeat("0", -point)+digits
		case point >= len(digits):
			whole, frac = digits+strings.Repeat("0", point-len(digits)), ""
		default:
			whole, frac = digits[:point], digits[point:]
		}
	}
	text := strings.TrimLeft(whole, "0")
	if text == "" {
		text = "0"
	}
	if frac != "" {
		text += "." + frac
	}
	if neg {
		text = "-" + text
	}
	return Value{kind: KindNumber, str: text}, true
}

// allDigits reports whether s is only decimal digits ("" is).
func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

// numberKey is a number's text without what does not change its value
// (trailing zeros of the fraction, the sign of zero), so two numbers are
// equal when their keys are: 1.50 is 1.5, -0 is 0.
func numberKey(text string) string {
	if whole, frac, ok := strings.Cut(text, "."); ok {
		text = whole
		if frac = strings.TrimRight(frac, "0"); frac != "" {
			text += "." + frac
		}
	}
	if text == "-0" {
		return "0"
	}
	return text
}
