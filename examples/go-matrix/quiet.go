//go:build !loud

package greet

const loud = false
