package pgtest

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// installRoot is where Debian and Ubuntu put one directory per PostgreSQL
// major version.
const installRoot = "/usr/lib/postgresql"

// noBinariesMessage is the reason a test is skipped (or fails) when no server
// is installed.
const noBinariesMessage = "no PostgreSQL server binaries found in /usr/lib/postgresql/*/bin; install the postgresql package"

// requirePostgresEnv, when set to anything but "" or "0", turns a missing
// server into a test failure, so CI cannot pass by silently skipping.
const requirePostgresEnv = "LATHE_REQUIRE_POSTGRES"

// findBinDir returns the bin directory of the highest installed PostgreSQL
// version that has both initdb and postgres, or "" if there is none.
func findBinDir() string {
	dirs, _ := filepath.Glob(filepath.Join(installRoot, "*", "bin"))
	best, bestVersion := "", []int(nil)
	for _, dir := range dirs {
		if !isExecutable(filepath.Join(dir, "initdb")) || !isExecutable(filepath.Join(dir, "postgres")) {
			continue
		}
		v := parseVersion(filepath.Base(filepath.Dir(dir)))
		if best == "" || versionLess(bestVersion, v) {
			best, bestVersion = dir, v
		}
	}
	return best
}

// parseVersion turns a directory name such as "15" or "9.6" into its numeric
// parts; parts that are not numbers count as 0.
func parseVersion(name string) []int {
	var v []int
	for _, part := range strings.Split(name, ".") {
		n, _ := strconv.Atoi(part)
		v = append(v, n)
	}
	return v
}

// versionLess reports whether version a sorts before b numerically, so that
// "10" beats "9.6".
func versionLess(a, b []int) bool {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return len(a) < len(b)
}

// isExecutable reports whether path is a regular file with an execute bit.
func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}

// postgresRequired reports whether LATHE_REQUIRE_POSTGRES asks for missing
// binaries to be a failure rather than a skip.
func postgresRequired() bool {
	v := os.Getenv(requirePostgresEnv)
	return v != "" && v != "0"
}
