package cli_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/lathe-ci/lathe/cli"
)

// Credentials given through the environment never appear in -h or in the
// usage printed after a flag error: the default shows as "(from VAR)".
func TestHelpAndFlagErrorsNeverPrintCredentials(t *testing.T) {
	secrets := map[string]string{
		"LATHE_TOKEN":              "lathe_tok_SECRETAPITOKEN",
		"LATHE_REGISTRATION_TOKEN": "lathe_reg_SECRETREGTOKEN",
		"LATHE_DATABASE_URL":       "postgres://lathe:SECRETDBPASSWORD@db.invalid/lathe",
		"LATHE_SECRET_KEY_FILE":    "/run/SECRETKEYFILE",
	}
	env := func(out *bytes.Buffer) *cli.Env {
		return &cli.Env{Stdin: strings.NewReader(""), Stdout: out, Stderr: out, Getenv: func(k string) string { return secrets[k] }}
	}
	for _, tc := range []struct {
		args []string
		from string // the variable whose name the output must show
	}{
		{[]string{"runs", "-h"}, "LATHE_TOKEN"},
		{[]string{"runs", "--no-such-flag"}, "LATHE_TOKEN"},
		{[]string{"agent", "-h"}, "LATHE_REGISTRATION_TOKEN"},
		{[]string{"agent", "--poll-wait", "many"}, "LATHE_REGISTRATION_TOKEN"},
		{[]string{"server", "-h"}, "LATHE_DATABASE_URL"},
		{[]string{"server", "--agents", "x"}, "LATHE_DATABASE_URL"},
		{[]string{"up", "-h"}, "LATHE_SECRET_KEY_FILE"},
		{[]string{"secrets", "reencrypt", "-h"}, "LATHE_DATABASE_URL"},
	} {
		var out bytes.Buffer
		cli.Run(context.Background(), tc.args, env(&out))
		got := out.String()
		for k, v := range secrets {
			if strings.Contains(got, v) {
				t.Errorf("lathe %v printed %s:\n%s", tc.args, k, got)
			}
		}
		if !strings.Contains(got, "(from "+tc.from+")") {
			t.Errorf("lathe %v does not say its default comes from %s:\n%s", tc.args, tc.from, got)
		}
	}
}
