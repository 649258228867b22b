package greet

import (
	"strings"
	"testing"
)

func TestHello(t *testing.T) {
	got := Hello("lathe")
	if !strings.EqualFold(got, "hello, lathe") || loud != (got == strings.ToUpper(got)) {
		t.Errorf("Hello = %q (loud %v)", got, loud)
	}
}
