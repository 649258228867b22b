// Package greet says hello, loudly when built with the "loud" tag.
package greet

import "strings"

// Hello greets name.
func Hello(name string) string {
	s := "hello, " + name
	if loud {
		return strings.ToUpper(s)
	}
	return s
}
