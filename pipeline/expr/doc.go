// Package expr is the small expression language of pipeline conditions
// (`if:` on a job or under `when:`). It is deliberately tiny and fully
// specified here, because expressions come from untrusted YAML that the
// server evaluates: an expression can read the variables it is given and
// nothing else. It cannot call code, read files, loop or allocate without
// bound. The package depends only on the glob matcher.
//
// # Grammar
//
//	expr    = or
//	or      = and { "||" and }
//	and     = compare { "&&" compare }
//	compare = unary [ ( "==" | "!=" | "=~" | "!~" ) unary ]
//	unary   = "!" unary | primary
//	primary = literal | variable | call | "(" expr ")"
//	call    = "changed" "(" string { "," string } ")"
//
// Comparisons do not chain: `a == b == c` is an error; write parentheses.
//
// # Values
//
// There are three types: strings ("main" or 'main'; double quotes allow the
// escapes \" \\ \n \t), numbers (42, 1.5, -3) and booleans (true, false).
// Variables are dotted names such as branch, event, params.version,
// env.GOOS or matrix.os; which names exist is up to the caller, which checks
// them with [Expr.Vars] before evaluating. A variable with no value at
// evaluation time (tag on a branch push) is the empty string.
//
// # Operators
//
//   - `a == b`, `a != b`: values of the same type compare by value (numbers
//     numerically); values of different types compare by their text, so
//     env.N == 3 holds when env.N is "3", and params.debug == "true" holds
//     for a boolean parameter set to true. Numbers compare exactly, however
//     many digits they have (1.50 == 1.5), and their text is plain decimal
//     as written, never an exponent: a number parameter given as 1000000
//     equals "1000000" (see [ParseNumber]).
//   - `a =~ "glob"`, `a !~ "glob"`: the text of a matches (does not match)
//     the glob on the right. Globs follow path matching: `*` matches within
//     one path segment, `**` across segments, `?` one character, `[a-z]` a
//     class, `{a,b}` alternatives. So branch =~ "release/*" matches
//     release/1.2 but not release/1.2/hotfix, which "release/**" matches.
//   - `!a`, `a && b`, `a || b`: logic on truthiness, short-circuiting.
//     false, "" and 0 are false; every other value is true. && and || give
//     a boolean.
//   - changed("glob", ...) is true when any changed file matches any of the
//     globs, or when the changed files are unknown (a manual run, the first
//     run of a branch): in doubt, a job runs.
//
// The whole expression is true when its value is truthy.
//
// # Limits
//
// An expression is at most [MaxLength] bytes long and nests at most
// [MaxDepth] levels of parentheses and `!`. Evaluation visits each node
// once, so its cost is bounded by the length.
package expr
