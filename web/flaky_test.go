package web_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/internal/lathetest"
)

// A run's Tests tab marks a test that passed on a retry within its job as
// flaky, counts it, and filters by it.
func TestTestsTabShowsFlakyTests(t *testing.T) {
	t.Parallel()
	l := lathetest.Start(t, lathetest.Options{Agents: 1})
	l.Project(t, "calc", lathetest.Repo(t, map[string]string{".lathe.yml": `
jobs:
  test:
    steps:
      - printf '<testsuite name="calc"><testcase classname="calc" name="TestRetried"><failure message="timed out"/></testcase><testcase classname="calc" name="TestSteady"/><testcase classname="calc" name="TestRetried"/></testsuite>' > junit.xml
    reports:
      junit: [junit.xml]
`}))
	l.Do(t, http.MethodPatch, "/api/v1/projects/calc", map[string]string{"visibility": "public"}, nil)
	run := l.Wait(t, l.Trigger(t, "calc", "", "").ID, time.Minute)
	if run.Status != lathe.StatusSuccess {
		t.Fatalf("run %s", run.Status)
	}
	b := newBrowserless(t, l.URL)
	code, _, body := b.get(fmt.Sprintf("/runs/%d/tests", run.ID))
	if code != http.StatusOK || !strings.Contains(body, `<li data-total="flaky"><strong>1</strong> flaky</li>`) ||
		!strings.Contains(body, `data-test="TestRetried" data-change="same" data-flaky`) || strings.Contains(body, `data-test="TestSteady" data-change="same" data-flaky`) ||
		strings.Count(body, `class="tag flaky"`) != 1 {
		t.Fatalf("tests tab: %d\n%s", code, body)
	}
	_, _, only := b.get(fmt.Sprintf("/runs/%d/tests?flaky=true", run.ID))
	if !strings.Contains(only, `data-test="TestRetried"`) || strings.Contains(only, `data-test="TestSteady"`) || !strings.Contains(only, `id="f-flaky" name="flaky" value="true" checked`) {
		t.Errorf("only flaky:\n%s", only)
	}
}
