package server_test

import (
	"os"
	"testing"

	"github.com/lathe-ci/lathe/internal/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
