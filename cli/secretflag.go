package cli

import "github.com/spf13/pflag"

// secretValue is a flag holding a credential (a token, a database URL with
// its password) whose default may come from the environment. The flag
// package prints defaults in -h and after every flag error; this one
// says where its value came from, "(from LATHE_TOKEN)", never the value.
type secretValue struct {
	p    *string
	from string // the environment variable the value came from, if it did
}

func (v *secretValue) String() string {
	if v == nil || v.from == "" {
		return ""
	}
	return "(from " + v.from + ")"
}

func (v *secretValue) Type() string { return "string" }

func (v *secretValue) Set(s string) error {
	*v.p, v.from = s, ""
	return nil
}

// secretVar defines the credential flag name on fs, stored in p, with the
// environment variable key as its default.
func secretVar(fs *pflag.FlagSet, env *Env, p *string, name, key, usage string) {
	v := &secretValue{p: p}
	if s := env.Getenv(key); s != "" {
		*p, v.from = s, key
		usage += " " + v.String()
	}
	fs.Var(v, name, usage)
	fs.Lookup(name).DefValue = "" // the usage already says where it came from
}

// secretString is secretVar into a new string.
func secretString(fs *pflag.FlagSet, env *Env, name, key, usage string) *string {
	p := new(string)
	secretVar(fs, env, p, name, key, usage)
	return p
}

// databaseURLFlag adds --database-url, which may hold a password.
func databaseURLFlag(fs *pflag.FlagSet, env *Env, p *string) {
	secretVar(fs, env, p, "database-url", "LATHE_DATABASE_URL", "postgres://… URL; empty: SQLite in the data directory (env LATHE_DATABASE_URL)")
}
