package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/dispatch"
	"github.com/lathe-ci/lathe/forge"
	"github.com/lathe-ci/lathe/pipeline"
	"github.com/lathe-ci/lathe/store"
)

// The OpenAPI document is written by hand, so these tests hold it to the
// code: every route is described and nothing else, with the right
// credential, its path parameters, and schemas whose properties are the JSON
// fields the Go types encode. kin-openapi loads and validates it (every
// $ref resolved); the end-to-end tests hold every answer they get to it
// (internal/lathetest.CheckOpenAPI).

// operation is one (method, path) of the document.
type operation struct {
	method, path string // method in upper case, as in a route pattern
	op           *openapi3.Operation
	pathItem     *openapi3.PathItem
}

func (o operation) key() string { return o.method + " " + o.path }

// loadDoc loads the document with kin-openapi, which resolves every $ref
// (refusing one outside the document) and validates it as OpenAPI 3.1.
func loadDoc(t *testing.T) *openapi3.T {
	t.Helper()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(OpenAPI())
	if err != nil {
		t.Fatalf("api/openapi/openapi.json: %v", err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		t.Fatalf("api/openapi/openapi.json is not a valid OpenAPI document: %v", err)
	}
	return doc
}

func operations(t *testing.T, doc *openapi3.T) []operation {
	t.Helper()
	if doc.Paths.Len() == 0 {
		t.Fatal("document has no paths")
	}
	var out []operation
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			out = append(out, operation{method, path, op, item})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].key() < out[j].key() })
	return out
}

func TestOpenAPIDocumentIsWellFormed(t *testing.T) {
	doc := loadDoc(t)
	if !strings.HasPrefix(doc.OpenAPI, "3.1.") || !doc.IsOpenAPI31OrLater() {
		t.Errorf("openapi = %q, want 3.1.x", doc.OpenAPI)
	}
	tags := map[string]bool{}
	for _, tg := range doc.Tags {
		tags[tg.Name] = true
	}
	ids := map[string]string{}
	for _, o := range operations(t, doc) {
		switch id := o.op.OperationID; {
		case id == "":
			t.Errorf("%s: no operationId", o.key())
		case ids[id] != "":
			t.Errorf("%s: operationId %q is also used by %s", o.key(), id, ids[id])
		default:
			ids[id] = o.key()
		}
		if o.op.Summary == "" {
			t.Errorf("%s: no summary", o.key())
		}
		if len(o.op.Tags) == 0 {
			t.Errorf("%s: no tags", o.key())
		}
		for _, tg := range o.op.Tags {
			if !tags[tg] {
				t.Errorf("%s: tag %q is not declared in the document's tags", o.key(), tg)
			}
		}
		if !slices.ContainsFunc(slices.Collect(maps.Keys(o.op.Responses.Map())), func(code string) bool { return strings.HasPrefix(code, "2") }) {
			t.Errorf("%s: no 2xx response", o.key())
		}
		if o.op.Responses.Value("400") == nil {
			t.Errorf("%s: documents no 400 response, but every route refuses a query parameter it does not declare", o.key())
		}
		if o.op.Responses.Value("503") == nil {
			t.Errorf("%s: documents no 503 response, but every route answers so while the database is unreachable", o.key())
		}
		for code, r := range o.op.Responses.Map() {
			if h := r.Value.Headers[RequestIDHeader]; h == nil || h.Value == nil || !h.Value.Required {
				t.Errorf("%s: response %s does not declare the %s header every answer carries", o.key(), code, RequestIDHeader)
			}
		}
	}
}

// docKey turns a route pattern ("GET /api/v1/runs/{run}") into the
// document's method and path template.
func docKey(pattern string) (string, error) {
	method, path, ok := strings.Cut(pattern, " ")
	if !ok || !strings.HasPrefix(path, "/") {
		return "", fmt.Errorf("route %q has no method or is host-specific: the document cannot describe it", pattern)
	}
	path = strings.TrimSuffix(path, "{$}")
	path = regexp.MustCompile(`\{(\w+)\.\.\.\}`).ReplaceAllString(path, "{$1}")
	return method + " " + path, nil
}

func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	routes := map[string]bool{}
	for _, pattern := range New(nil, nil, slog.New(slog.DiscardHandler)).Routes() {
		k, err := docKey(pattern)
		if err != nil {
			t.Error(err)
			continue
		}
		routes[k] = true
	}
	documented := map[string]bool{}
	for _, o := range operations(t, loadDoc(t)) {
		documented[o.key()] = true
	}
	var missing, extra []string
	for k := range routes {
		if !documented[k] {
			missing = append(missing, k)
		}
	}
	for k := range documented {
		if !routes[k] {
			extra = append(extra, k)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	if len(missing) > 0 {
		t.Errorf("routes the OpenAPI document does not describe (add them to api/openapi/openapi.json):\n\t%s", strings.Join(missing, "\n\t"))
	}
	if len(extra) > 0 {
		t.Errorf("OpenAPI operations with no route in (*Server).routes:\n\t%s", strings.Join(extra, "\n\t"))
	}
}

// TestOpenAPISecurity checks each operation asks for the credential its
// route's guard demands, and that guarded routes document their 401.
func TestOpenAPISecurity(t *testing.T) {
	doc := loadDoc(t)
	ops := map[string]operation{}
	for _, o := range operations(t, doc) {
		ops[o.key()] = o
	}
	optional := `[{},{"bearer":[]}]`
	want := map[need]string{public: `[]`, anyone: optional, authenticated: `[{"bearer":[]}]`,
		projectRead: optional, projectWrite: `[{"bearer":[]}]`, projectOwner: `[{"bearer":[]}]`,
		adminOnly: `[{"bearer":[]}]`, agentAuth: `[{"agentToken":[]}]`}
	s := New(nil, nil, slog.New(slog.DiscardHandler))
	for _, r := range s.routes() {
		k, err := docKey(r.Pattern)
		o, ok := ops[k]
		if err != nil || !ok {
			continue // TestOpenAPIDescribesEveryRoute reports it
		}
		sec := doc.Security
		if o.op.Security != nil {
			sec = *o.op.Security
		}
		got, _ := json.Marshal(sec)
		if string(got) != want[r.Needs] {
			t.Errorf("%s: security = %s, want %s", k, got, want[r.Needs])
		}
		if n, _ := o.op.Extensions["x-lathe-needs"].(string); n != r.Needs.String() {
			t.Errorf("%s: x-lathe-needs = %q, want %q (what its route declares)", k, n, r.Needs)
		}
		if r.Needs != public && o.op.Responses.Value("401") == nil {
			t.Errorf("%s: needs a credential but documents no 401 response", k)
		}
		if r.Needs != public && o.op.Responses.Value("429") == nil {
			t.Errorf("%s: reads a credential but documents no 429 response (too many invalid ones)", k)
		}
		if r.Needs != public && o.op.Responses.Value("403") == nil {
			t.Errorf("%s: checks its caller but documents no 403 response", k)
		}
	}
}

func TestOpenAPIPathParameters(t *testing.T) {
	doc := loadDoc(t)
	name := regexp.MustCompile(`\{([^}]+)\}`)
	for _, o := range operations(t, doc) {
		var inPath []string
		for _, m := range name.FindAllStringSubmatch(o.path, -1) {
			inPath = append(inPath, m[1])
		}
		declared := map[string]bool{}
		var names []string
		for _, p := range append(slices.Clone(o.pathItem.Parameters), o.op.Parameters...) {
			if p.Value.In != openapi3.ParameterInPath {
				continue
			}
			n := p.Value.Name
			if declared[n] {
				t.Errorf("%s: path parameter %q declared twice", o.key(), n)
			}
			if !p.Value.Required {
				t.Errorf("%s: path parameter %q must be required", o.key(), n)
			}
			declared[n] = true
			names = append(names, n)
		}
		sort.Strings(inPath)
		sort.Strings(names)
		if !slices.Equal(inPath, names) {
			t.Errorf("%s: declares path parameters %v, want %v", o.key(), names, inPath)
		}
	}
}

func TestOpenAPIIsServed(t *testing.T) {
	srv := httptest.NewServer(New(nil, nil, slog.New(slog.DiscardHandler)))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/api/v1/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/v1/openapi.json: %s", resp.Status)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	if !bytes.Equal(body, OpenAPI()) {
		t.Errorf("served document (%d bytes) differs from api/openapi/openapi.json (%d bytes)", len(body), len(OpenAPI()))
	}
}

// TestOpenAPISchemasMatchTypes checks each schema's properties are the JSON
// fields of the Go type it describes, and for responses that the required
// ones are those always encoded (no omitempty).
func TestOpenAPISchemasMatchTypes(t *testing.T) {
	doc := loadDoc(t)
	for _, c := range []struct {
		schema string
		typ    any
		input  bool // request bodies: fields are optional whatever their tags say
	}{
		{"Timing", lathe.Timing{}, false},
		{"Project", lathe.Project{}, false},
		{"Run", lathe.Run{}, false},
		{"Stage", lathe.Stage{}, false},
		{"TestTotals", lathe.TestTotals{}, false},
		{"TestResult", lathe.TestResult{}, false},
		{"ReportWarning", lathe.ReportWarning{}, false},
		{"RunTests", lathe.RunTests{}, false},
		{"TestCase", lathe.TestCase{}, false},
		{"TestHistoryEntry", lathe.TestHistoryEntry{}, false},
		{"TestHistory", lathe.TestHistory{}, false},
		{"TestComment", lathe.TestComment{}, false},
		{"TestCommentPage", lathe.Page[*lathe.TestComment]{}, false},
		{"TestCommentCreate", commentInput{}, true},
		{"RunIssue", lathe.RunIssue{}, false},
		{"RunIssues", runIssues{}, false},
		{"Build", lathe.Build{}, false},
		{"BuildPage", lathe.Page[*lathe.Build]{}, false},
		{"BuildTime", lathe.BuildTime{}, false},
		{"BuildTimes", lathe.BuildTimes{}, false},
		{"RunDuration", lathe.RunDuration{}, false},
		{"RunStats", lathe.RunStats{}, false},
		{"StageUpdate", stageInput{}, true},
		{"ReportFileReply", reportReply{}, false},
		{"ReportGlobs", lathe.ReportGlobs{}, false},
		{"Job", lathe.Job{}, false},
		{"EnvVar", lathe.EnvVar{}, false},
		{"StepDef", lathe.StepDef{}, false},
		{"StepAction", lathe.StepAction{}, false},
		{"Upload", lathe.Upload{}, false},
		{"UploadList", uploadList{}, false},
		{"Artifact", lathe.Artifact{}, false},
		{"ArtifactList", artifactList{}, false},
		{"ArtifactPage", lathe.Page[*lathe.Artifact]{}, false},
		{"Cache", lathe.Cache{}, false},
		{"CacheList", cacheList{}, false},
		{"Retention", lathe.Retention{}, false},
		{"Attempt", lathe.Attempt{}, false},
		{"Step", lathe.Step{}, false},
		{"Agent", lathe.Agent{}, false},
		{"ProjectPage", lathe.Page[*lathe.Project]{}, false},
		{"RunPage", lathe.Page[*lathe.Run]{}, false},
		{"Pipeline", pipelineView{}, false},
		{"PipelineJob", jobView{}, false},
		{"ProjectPipeline", projectPipelineView{}, false},
		{"PipelineProblem", pipelineProblem{}, false},
		{"PipelineDirectory", pipelineDirectory{}, false},
		{"RoleInfo", lathe.RoleInfo{}, false},
		{"RoleList", roleList{}, false},
		{"ProjectGrant", lathe.ProjectGrant{}, false},
		{"ProjectGrantList", grantList{}, false},
		{"JobEntry", lathe.JobEntry{}, false},
		{"JobPage", lathe.Page[*lathe.JobEntry]{}, false},
		{"RemoteRepo", forge.RemoteRepo{}, false},
		{"RemoteRepoPage", forgeRepoPage{}, false},
		{"StoredPipeline", lathe.StoredPipeline{}, false},
		{"StoredPipelineList", storedPipelineList{}, false},
		{"StoredPipelinePut", storedPipelineInput{}, true},
		{"DeploymentPage", lathe.Page[*lathe.Deployment]{}, false},
		{"RunResults", lathe.RunResults{}, false},
		{"RunHistory", runHistoryList{}, false},
		{"Deployment", lathe.Deployment{}, false},
		{"Environment", lathe.Environment{}, false},
		{"PipelineParam", paramView{}, false},
		{"ProjectWithRole", projectView{}, false},
		{"Problem", Problem{}, false},
		{"LogChunk", lathe.LogChunk{}, false},
		{"Assignment", lathe.Assignment{}, false},
		{"ReportReply", lathe.ReportReply{}, false},
		{"ProjectCreate", projectInput{}, true},
		{"ProjectUpdate", projectInput{}, true},
		{"TriggerRequest", triggerInput{}, true},
		{"Plan", planView{}, false},
		{"Retry", lathe.Retry{}, false},
		{"HookToken", lathe.HookToken{}, false},
		{"HookTokenInput", hookTokenInput{}, true},
		{"HookRequest", hookInput{}, true},
		{"Approval", lathe.Approval{}, false},
		{"PlannedJob", pipeline.JobView{}, false},
		{"SkippedJob", pipeline.Skipped{}, false},
		{"MatrixValue", pipeline.MatrixValue{}, false},
		{"Report", lathe.Report{}, true},
		{"StepReport", lathe.StepReport{}, true},
		{"FinishReport", lathe.FinishReport{}, true},
		{"PipelineError", pipeline.Error{}, false},
		{"HostInfo", lathe.HostInfo{}, false},
		{"AgentGroup", lathe.AgentGroup{}, false},
		{"RegistrationToken", lathe.RegistrationToken{}, false},
		{"Concurrency", lathe.Concurrency{}, false},
		{"Semaphore", lathe.Semaphore{}, false},
		{"SemaphoreHolder", lathe.SemaphoreHolder{}, false},
		{"SemaphoreWaiter", lathe.SemaphoreWaiter{}, false},
		{"SemaphoreList", semaphoreList{}, false},
		{"Hold", lathe.Hold{}, false},
		{"HeldAttempt", lathe.HeldAttempt{}, false},
		{"HoldList", holdList{}, false},
		{"HoldCreate", holdInput{}, true},
		{"Branch", lathe.Branch{}, false},
		{"BranchSettings", lathe.BranchSettings{}, false},
		{"BranchPage", lathe.Page[*lathe.Branch]{}, false},
		{"BranchUpdate", branchInput{}, true},
		{"Schedule", lathe.Schedule{}, false},
		{"ScheduleList", scheduleList{}, false},
		{"PostedPlanRequest", postedPlanInput{}, true},
		{"ConfigProblem", lathe.ConfigProblem{}, false},
		{"ConfigErrors", lathe.ConfigErrors{}, false},
		{"User", lathe.User{}, false},
		{"APIToken", lathe.APIToken{}, false},
		{"Session", session{}, false},
		{"UserPage", lathe.Page[*lathe.User]{}, false},
		{"TokenList", tokenList{}, false},
		{"Team", lathe.Team{}, false},
		{"TeamList", teamList{}, false},
		{"Member", lathe.Member{}, false},
		{"MemberList", memberList{}, false},
		{"AuditEvent", store.AuditEvent{}, false},
		{"AuditEventPage", lathe.Page[*store.AuditEvent]{}, false},
		{"Login", loginInput{}, true},
		{"UserCreate", userCreate{}, true},
		{"UserUpdate", userUpdate{}, true},
		{"PasswordChange", passwordChange{}, true},
		{"TokenCreate", tokenCreate{}, true},
		{"TeamCreate", teamCreate{}, true},
		{"TeamMemberAdd", teamMemberAdd{}, true},
		{"RoleGrant", roleInput{}, true},
		{"Forge", lathe.Forge{}, false},
		{"ForgeCreate", forgeInput{}, true},
		{"ForgeUpdate", forgeInput{}, true},
		{"HookSecret", hookSecretAnswer{}, false},
		{"HookSecretInput", hookSecretInput{}, true},
		{"ForgeHookOutcome", dispatch.HookOutcome{}, false},
	} {
		ref := doc.Components.Schemas[c.schema]
		if ref == nil {
			t.Errorf("no schema %s", c.schema)
			continue
		}
		props, required := schemaFields(ref.Value)
		fields, always := jsonFields(reflect.TypeOf(c.typ))
		if !slices.Equal(props, fields) {
			t.Errorf("schema %s has properties %v; %T encodes %v", c.schema, props, c.typ, fields)
		}
		if !c.input && !slices.Equal(required, always) {
			t.Errorf("schema %s requires %v; %T always encodes %v", c.schema, required, c.typ, always)
		}
	}
	var statuses []string
	for _, s := range doc.Components.Schemas["Status"].Value.Enum {
		statuses = append(statuses, s.(string))
	}
	var want []string
	for _, s := range lathe.Statuses {
		want = append(want, string(s))
	}
	if !slices.Equal(statuses, want) {
		t.Errorf("schema Status enum = %v, want lathe.Statuses %v", statuses, want)
	}
}

// schemaFields returns a schema's property names and required names,
// sorted, gathering them through allOf.
func schemaFields(s *openapi3.Schema) (props, required []string) {
	props = slices.Collect(maps.Keys(s.Properties))
	required = slices.Clone(s.Required)
	for _, sub := range s.AllOf {
		p, r := schemaFields(sub.Value)
		props, required = append(props, p...), append(required, r...)
	}
	sort.Strings(props)
	sort.Strings(required)
	return props, required
}

// jsonFields returns the names encoding/json gives t's fields, and those
// without omitempty, sorted.
func jsonFields(t reflect.Type) (names, always []string) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if f.Anonymous && tag == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			n, a := jsonFields(ft)
			names, always = append(names, n...), append(always, a...)
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if !f.IsExported() || name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		names = append(names, name)
		if !slices.Contains(strings.Split(opts, ","), "omitempty") {
			always = append(always, name)
		}
	}
	sort.Strings(names)
	sort.Strings(always)
	return names, always
}
