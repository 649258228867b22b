package expr

import (
	"errors"
	"strings"
	"testing"
)

// scope is the variables the tests evaluate against.
func scope(changed []string) *Scope {
	vars := map[string]Value{
		"branch":        String("release/1.2"),
		"event":         String("push"),
		"tag":           String(""),
		"params.n":      Number(3),
		"params.debug":  Bool(true),
		"env.N":         String("3"),
		"matrix.os":     String("linux"),
		"matrix.go-ver": String("1.22"),
	}
	return &Scope{Lookup: func(n string) (Value, bool) { v, ok := vars[n]; return v, ok }, Changed: changed}
}

func TestEval(t *testing.T) {
	tests := []struct {
		src     string
		want    bool
		changed []string
	}{
		{src: `true`, want: true},
		{src: `false`, want: false},
		{src: `branch == "release/1.2"`, want: true},
		{src: `branch == 'release/1.2'`, want: true},
		{src: `branch != "main"`, want: true},
		{src: `branch =~ "release/*"`, want: true},
		{src: `branch =~ "release/**"`, want: true},
		{src: `branch =~ "main"`, want: false},
		{src: `branch !~ "feature/*"`, want: true},
		{src: `branch =~ "{main,release/*}"`, want: true},
		{src: `event == "push" && branch =~ "release/*"`, want: true},
		{src: `event == "tag" || branch == "main"`, want: false},
		{src: `!(event == "tag")`, want: true},
		{src: `!event`, want: false},
		{src: `tag`, want: false},
		{src: `!tag`, want: true},
		{src: `params.n == 3`, want: true},
		{src: `params.n == 3.0`, want: true},
		{src: `params.n == "3"`, want: true},
		{src: `env.N == 3`, want: true},
		{src: `params.debug`, want: true},
		{src: `params.debug == "true"`, want: true},
		{src: `params.debug == true`, want: true},
		{src: `matrix.go-ver == "1.22"`, want: true},
		{src: `unknown == ""`, want: true},
		{src: `0`, want: false},
		{src: `-1`, want: true},
		{src: `"a\"b" == 'a"b'`, want: true},
		{src: `"a\\b\n\t" != ""`, want: true},
		{src: `changed("src/**")`, want: true},
		{src: `changed("src/**")`, changed: []string{"docs/a.md"}, want: false},
		{src: `changed("src/**", "docs/*")`, changed: []string{"docs/a.md"}, want: true},
		{src: `changed("src/**")`, changed: []string{}, want: false},
		{src: `true || false && false`, want: true},
		{src: `(true || false) && false`, want: false},
		{src: "branch ==\n\"release/1.2\"", want: true},
	}
	for _, tt := range tests {
		e, err := Parse(tt.src)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.src, err)
			continue
		}
		if got := e.True(scope(tt.changed)); got != tt.want {
			t.Errorf("%q = %v, want %v", tt.src, got, tt.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		src    string
		offset int
		msg    string
	}{
		{``, 0, "expression is empty"},
		{`   `, 0, "expression is empty"},
		{`branch = "main"`, 7, "'=' alone is not an operator"},
		{`a & b`, 2, `'&' alone is not an operator; write &&`},
		{`a | b`, 2, `write ||`},
		{`branch == "main`, 10, "string is not closed"},
		{`"a\qb"`, 2, `unknown escape \q`},
		{`branch ==`, 9, "expression ends early; expected a value"},
		{`(a`, 2, "expected )"},
		{`a)`, 1, "unexpected ); expected &&, || or the end"},
		{`a == b == c`, 7, "comparisons do not chain"},
		{`a b`, 2, "unexpected b; expected &&, || or the end"},
		{`params.`, 7, "expected a name after '.'"},
		{`1x`, 0, "a name cannot start with a digit"},
		{`1.`, 0, `"1." is not a number`},
		{`-`, 0, `"-" is not a number`},
		{`exec("rm")`, 0, `unknown function "exec"`},
		{`changed(x)`, 8, "expected a glob in quotes"},
		{`changed("a" "b")`, 12, "expected , or )"},
		{`changed("[")`, 8, `"[" is not a valid glob`},
		{`branch =~ "["`, 7, `"[" is not a valid glob`},
		{`a @ b`, 2, "unexpected character '@'"},
		{strings.Repeat("(", MaxDepth+1) + "a" + strings.Repeat(")", MaxDepth+1), MaxDepth, "nests more than 32 levels"},
		{strings.Repeat("!", MaxDepth+1) + "a", MaxDepth, "nests more than 32 levels"},
		{strings.Repeat("a", MaxLength+1), MaxLength, "the limit is 1024"},
	}
	for _, tt := range tests {
		_, err := Parse(tt.src)
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("Parse(%q) = %v, want an *Error", tt.src, err)
			continue
		}
		if e.Offset != tt.offset || !strings.Contains(e.Message, tt.msg) {
			t.Errorf("Parse(%q) = offset %d %q, want offset %d …%s…", tt.src, e.Offset, e.Message, tt.offset, tt.msg)
		}
	}
}

func TestVarsAndConstant(t *testing.T) {
	e, err := Parse(`branch == "x" || (params.a && !matrix.os) || changed("x")`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, v := range e.Vars() {
		got = append(got, v.Name)
	}
	if strings.Join(got, ",") != "branch,params.a,matrix.os" || e.Vars()[1].Offset != 18 {
		t.Errorf("Vars() = %+v", e.Vars())
	}
	if e.Constant() {
		t.Error("expression with variables is constant")
	}
	for src, want := range map[string]bool{`true && !false`: true, `"a" == "a"`: true, `changed("a")`: false, `x`: false} {
		e, err := Parse(src)
		if err != nil {
			t.Fatal(err)
		}
		if e.Constant() != want {
			t.Errorf("%q Constant() = %v, want %v", src, !want, want)
		}
	}
}

// A number is its plain decimal text, every digit kept: never an
// exponent, never rounded through a float.
func TestParseNumber(t *testing.T) {
	for _, tt := range []struct{ src, want string }{
		{"0", "0"},
		{"42", "42"},
		{"-3", "-3"},
		{"1000000", "1000000"},
		{"123456789", "123456789"},
		{"9007199254740993", "9007199254740993"},
		{"12345678901234567890", "12345678901234567890"},
		{"1.50", "1.50"},
		{"-0.25", "-0.25"},
		{"+5", "5"},
		{"007", "7"},
		{".5", "0.5"},
		{"-.5", "-0.5"},
		{"5.", "5"},
		{"1e6", "1000000"},
		{"1E+2", "100"},
		{"1.5e-3", "0.0015"},
		{"12.5e1", "125"},
		{"1.25e1", "12.5"},
		{"123e-1", "12.3"},
		{"0.5e0", "0.5"},
		{"1e20", "100000000000000000000"},
	} {
		v, ok := ParseNumber(tt.src)
		if !ok || v.Kind() != KindNumber || v.Text() != tt.want {
			t.Errorf("ParseNumber(%q) = %q (%s), %v; want %q", tt.src, v.Text(), v.Kind(), ok, tt.want)
		}
	}
	for _, src := range []string{"", "-", "+", ".", "-.", "e5", "1e", "1e+", "1e1.5", "1e1001", "1e-1001", "0x10", "1_000", "1.2.3",
		"Inf", "NaN", " 1", "1 ", "1/2", "--1", "1-"} {
		if v, ok := ParseNumber(src); ok {
			t.Errorf("ParseNumber(%q) = %q; want not a number", src, v.Text())
		}
	}
}

// Numbers compare by value, exactly: digits a float64 would lose count.
// Across types they compare by text, which is the number as written.
func TestNumbersCompareExactly(t *testing.T) {
	num := func(s string) Value {
		v, ok := ParseNumber(s)
		if !ok {
			t.Fatalf("ParseNumber(%q) failed", s)
		}
		return v
	}
	vars := map[string]Value{"params.f": num("1000000"), "params.big": num("9007199254740993"), "params.x": num("1.50"),
		"params.zero": num("-0.00")}
	sc := &Scope{Lookup: func(n string) (Value, bool) { v, ok := vars[n]; return v, ok }}
	for _, tt := range []struct {
		src  string
		want bool
	}{
		{`params.f == "1000000"`, true},
		{`params.f == 1000000`, true},
		{`params.f == 1000000.0`, true},
		{`params.f == 1000001`, false},
		{`params.big == 9007199254740993`, true},
		{`params.big == 9007199254740992`, false},
		{`params.big == "9007199254740993"`, true},
		{`params.x == 1.5`, true},
		{`params.x == "1.50"`, true},
		{`params.x != 1.51`, true},
		{`params.zero == 0`, true},
		{`params.zero`, false},
		{`params.f`, true},
		{`0.0`, false},
		{`0.01`, true},
	} {
		e, err := Parse(tt.src)
		if err != nil {
			t.Fatal(err)
		}
		if got := e.True(sc); got != tt.want {
			t.Errorf("%s = %v, want %v", tt.src, got, tt.want)
		}
	}
}

func TestValueText(t *testing.T) {
	for v, want := range map[Value]string{Number(3): "3", Number(1.5): "1.5", Number(1e6): "1000000", Number(-0.001): "-0.001",
		Bool(false): "false", String("x"): "x", {}: ""} {
		if v.Text() != want {
			t.Errorf("%+v.Text() = %q, want %q", v, v.Text(), want)
		}
	}
}

// FuzzParse checks that any input parses or fails with an in-range offset,
// and that what parses evaluates without panicking.
func FuzzParse(f *testing.F) {
	for _, s := range []string{`branch =~ "release/*" && event == 'push'`, `!(a || b) != c`, `changed("a/**", "b")`,
		`params.n == -1.5`, `"\\\"\n"`, `((((x))))`, `a == b == c`, `exec("x")`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		e, err := Parse(src)
		if err != nil {
			var pe *Error
			if !errors.As(err, &pe) || pe.Offset < 0 || pe.Offset > len(src) || pe.Message == "" {
				t.Fatalf("Parse(%q): bad error %v", src, err)
			}
			return
		}
		e.True(scope(nil))
		e.True(scope([]string{"a/b", "c"}))
		for _, v := range e.Vars() {
			if !strings.HasPrefix(src[v.Offset:], v.Name) {
				t.Fatalf("var %+v is not at its offset in %q", v, src)
			}
		}
	})
}
