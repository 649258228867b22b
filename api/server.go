// Package api is Lathe's HTTP interface: the REST API under /api/v1 for
// people and tools, and the agent protocol agents dial into. Handlers are
// thin: the route's guard authorizes, then the handler decodes, calls the
// store, or the dispatch service for the agent protocol and the actions on
// runs and jobs (which makes those actions' finer decisions), and encodes.
// Every route is declared once in routes(), with the caller it admits; the
// OpenAPI document must describe each of them (a test checks).
package api

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/lathe-ci/lathe/auth"
	"github.com/lathe-ci/lathe/dispatch"
	"github.com/lathe-ci/lathe/secret"
	"github.com/lathe-ci/lathe/store"
	"github.com/lathe-ci/lathe/trigger"
)

// Server serves the API.
type Server struct {
	store   *store.Store
	trigger *trigger.Service
	// dispatch carries out the agent protocol and the actions on runs and jobs.
	dispatch *dispatch.Service
	log      *slog.Logger
	// requestIDs makes the IDs of requests that came without one.
	requestIDs *requestIDs
	// hosts decodes the agents' host-info headers (see claimWhenAllowed).
	hosts hostHeaders
	mux   *http.ServeMux
	// bare routes as mux does, with no catch-all (see unrouted).
	bare *http.ServeMux
	// queries are the query parameters each route pattern declares.
	queries map[string][]string
	// agentsNeedAuthorization registers new agents unauthorized (see RequireAgentAuthorization).
	agentsNeedAuthorization atomic.Bool
	// keys seal and open secrets (see SetKeyring); nil: secrets are off.
	keys   *secret.Keyring
	keyGen sync.Mutex // one project key generation at a time
	// uploads keeps the archives of upload actions (see SetUploads); its
	// zero value refuses them.
	uploads uploadFiles
	// results keeps artifacts and caches (see SetResults); its zero value
	// refuses them.
	results resultFiles
	// tools keeps tool archives (see SetTools); its zero value refuses them.
	tools toolFiles
	// logins and badTokens rate-limit password guessing and token guessing
	// per client IP (see ratelimit.go).
	logins, badTokens *limiter
	// hasher caps the password hashing running at once (see auth.Hasher).
	hasher *auth.Hasher
	// trustedProxies may set X-Forwarded-For (see SetTrustedProxies).
	trustedProxies []netip.Prefix
	// features are what GET /api/v1/info says the server can do (see SetFeatures).
	features Features
}

// SetForgeClient sets the HTTP client of the calls hooks make to forges
// (see dispatch.Service.ForgeClient). Call it before serving.
func (s *Server) SetForgeClient(c *http.Client) { s.dispatch.ForgeClient = c }

// SetKeyring gives the server the keys that seal secrets. Call it before serving.
func (s *Server) SetKeyring(k *secret.Keyring) {
	s.keys = k
	s.dispatch.SetKeyring(k)
}

// New returns a server over the store.
func New(st *store.Store, tr *trigger.Service, log *slog.Logger) *Server {
	if log == nil {
		log = slog.Default()
	}
	s := &Server{store: st, trigger: tr, dispatch: dispatch.New(st, tr, log), log: log, requestIDs: newRequestIDs(),
		logins: newLimiter(loginBurst, loginEvery), badTokens: newLimiter(badTokenBurst, badTokenEvery),
		hasher: auth.NewHasher(min(runtime.NumCPU(), maxHashSlots), hashWait)}
	if err := checkRoutes(s.routes()); err != nil {
		panic(err) // a mistake in the route table, not in any input
	}
	queries, err := routeQueries(openapiDoc)
	if err != nil {
		panic(err) // a mistake in the embedded document, not in any input
	}
	s.queries = queries
	s.mux = s.newMux(nil)
	// bare has the routes and nothing else: unrouted asks it whether a
	// path that no route takes exists for other methods (405) or not (404).
	s.bare = http.NewServeMux()
	for _, r := range s.routes() {
		s.bare.Handle(r.Pattern, http.NotFoundHandler())
	}
	return s
}

// newMux routes each request to its route's handler, wrapped by wrap when
// set, and every request no route takes to unrouted. The route is looked up
// once per request, by the mux; what needs it (the guard, the query check,
// the metrics) has it from the handler it wraps.
func (s *Server) newMux(wrap func(pattern string, h http.Handler) http.Handler) *http.ServeMux {
	mux := http.NewServeMux()
	for _, r := range s.routes() {
		r.Handler = onlyDeclaredQuery(r.Pattern, s.queries[r.Pattern], r.Handler)
		// The guard runs first on every route; the handler's error, or the
		// guard's refusal, is answered as problem+json by handler.ServeHTTP.
		var h http.Handler = s.guard(r)
		if wrap != nil {
			h = wrap(r.Pattern, h)
		}
		mux.Handle(r.Pattern, h)
	}
	// The catch-all matches only what no route does (a route's pattern is
	// always more specific).
	mux.HandleFunc("/", s.unrouted)
	return mux
}

// Instrument wraps the handler of every route in wrap(pattern, handler):
// the metrics learn a request's route there, with no lookup of their own.
// Call it before serving.
func (s *Server) Instrument(wrap func(pattern string, h http.Handler) http.Handler) {
	s.mux = s.newMux(wrap)
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	st := &requestState{log: s.log}
	st.id[0] = s.requestIDs.of(r)
	// As Header().Set would, with no slice of its own (the key is canonical).
	w.Header()[RequestIDHeader] = st.id[:]
	s.mux.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), stateKey{}, st)))
}

// unrouted answers a request no route takes: the mux's 404, or 405 with an
// Allow header when the path exists for other methods, with their status
// and headers, but in problem+json like every other error.
func (s *Server) unrouted(w http.ResponseWriter, r *http.Request) {
	h, _ := s.bare.Handler(r)
	h.ServeHTTP(&unroutedWriter{ResponseWriter: w, r: r}, r)
}

// unroutedWriter turns the mux's plain-text 404 and 405 into problem+json.
type unroutedWriter struct {
	http.ResponseWriter
	r     *http.Request
	wrote bool
}

func (u *unroutedWriter) WriteHeader(code int) {
	if u.wrote {
		return
	}
	u.wrote = true
	u.Header().Del("X-Content-Type-Options")
	msg := "no route for %s %s"
	if code == http.StatusMethodNotAllowed {
		msg = "%s is not allowed on %s; see the Allow header"
	}
	writeProblem(u.ResponseWriter, u.r, problemf(code, msg, u.r.Method, u.r.URL.Path))
}

func (u *unroutedWriter) Write(b []byte) (int, error) {
	if !u.wrote {
		u.WriteHeader(http.StatusNotFound)
	}
	return len(b), nil
}

// Route is one endpoint: its method-and-path pattern, what it needs of its
// caller (see need; guard checks it before the handler runs), and its handler.
type Route struct {
	Pattern string
	Needs   need
	Handler handler
}

// handler is the shape of every route's handler: it writes its answer, or
// returns the error to answer with. It writes nothing once it has returned
// an error, and returns nil once it has written anything.
type handler func(http.ResponseWriter, *http.Request) error

// ServeHTTP is the one adapter from handlers to net/http: a returned error
// becomes an RFC 9457 problem+json answer (see writeProblem).
func (h handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := h(w, r); err != nil {
		writeProblem(w, r, err)
	}
}

func (s *Server) routes() []Route {
	return []Route{
		{"GET /healthz", public, s.healthz},
		{"GET /readyz", public, s.readyz},
		{"GET /api/v1/openapi.json", public, serveOpenAPI},
		{"GET /api/v1/info", public, s.getInfo},

		{"GET /api/v1/projects", anyone, s.listProjects},
		{"GET /api/v1/pipelines", anyone, s.listAllPipelines},
		{"GET /api/v1/roles", anyone, s.listRoles},
		{"POST /api/v1/projects", adminOnly, s.createProject},
		{"GET /api/v1/projects/{project}", projectRead, s.getProject},
		{"PATCH /api/v1/projects/{project}", projectOwner, s.updateProject},
		{"DELETE /api/v1/projects/{project}", projectOwner, s.deleteProject},
		{"GET /api/v1/projects/{project}/pipelines", projectRead, s.listPipelines},
		{"GET /api/v1/projects/{project}/pipelines/{pipeline}", projectRead, s.getPipeline},
		{"GET /api/v1/projects/{project}/stored-pipelines", projectRead, s.listStoredPipelines},
		{"GET /api/v1/projects/{project}/stored-pipelines/{pipeline}", projectRead, s.getStoredPipeline},
		{"PUT /api/v1/projects/{project}/stored-pipelines/{pipeline}", projectOwner, s.putStoredPipeline},
		{"DELETE /api/v1/projects/{project}/stored-pipelines/{pipeline}", projectOwner, s.deleteStoredPipeline},
		{"GET /api/v1/projects/{project}/config-errors", projectRead, s.listConfigErrors},
		{"GET /api/v1/projects/{project}/hook-tokens", projectOwner, s.listHookTokens},
		{"POST /api/v1/projects/{project}/hook-tokens", projectOwner, s.createHookToken},
		{"DELETE /api/v1/projects/{project}/hook-tokens/{token}", projectOwner, s.revokeHookToken},
		// The token in the path is the webhook's credential (checked first thing).
		{"POST /api/v1/hooks/{token}", public, s.hook},
		// A forge's hook: its signature, made with the project's hook
		// secret, is its credential (checked first thing, over the raw body).
		{"POST /api/v1/hooks/{forge_kind}/{project}", public, s.forgeHook},
		{"POST /api/v1/projects/{project}/hook-secret", projectOwner, s.generateHookSecret},
		{"PUT /api/v1/projects/{project}/hook-secret", projectOwner, s.putHookSecret},
		{"GET /api/v1/projects/{project}/pipelines/{pipeline}/plan", projectRead, s.planPipeline},
		{"POST /api/v1/projects/{project}/pipelines/{pipeline}/plan", projectWrite, s.planPosted},
		{"GET /api/v1/pipeline-schema", public, s.pipelineSchema},
		{"GET /api/v1/projects/{project}/members", projectRead, s.listMembers},
		{"PUT /api/v1/projects/{project}/members/users/{user}", projectOwner, s.grantMember},
		{"DELETE /api/v1/projects/{project}/members/users/{user}", projectOwner, s.revokeMember},
		{"PUT /api/v1/projects/{project}/members/teams/{team}", projectOwner, s.grantMember},
		{"DELETE /api/v1/projects/{project}/members/teams/{team}", projectOwner, s.revokeMember},
		{"GET /api/v1/projects/{project}/events", projectOwner, s.listEvents},
		{"POST /api/v1/projects/{project}/runs", projectWrite, s.triggerRun},
		{"GET /api/v1/projects/{project}/runs", projectRead, s.listProjectRuns},
		{"POST /api/v1/projects/{project}/dequeue", projectWrite, s.dequeue},
		{"GET /api/v1/projects/{project}/pipelines/{pipeline}/sequence", projectRead, s.getSequence},
		{"PUT /api/v1/projects/{project}/pipelines/{pipeline}/sequence", projectOwner, s.putSequence},
		{"GET /api/v1/projects/{project}/semaphores", projectRead, s.listSemaphores},
		{"GET /api/v1/projects/{project}/semaphores/{name}", projectRead, s.getSemaphore},
		{"GET /api/v1/projects/{project}/holds", projectRead, s.listHolds},
		{"POST /api/v1/projects/{project}/holds", projectWrite, s.createHold},
		{"GET /api/v1/projects/{project}/holds/{hold}", projectRead, s.getHold},
		{"DELETE /api/v1/projects/{project}/holds/{hold}", projectWrite, s.deleteHold},
		{"GET /api/v1/projects/{project}/environments", projectRead, s.listEnvironments},
		{"POST /api/v1/projects/{project}/environments", projectOwner, s.createEnvironment},
		{"GET /api/v1/projects/{project}/environments/{env}", projectRead, s.getEnvironment},
		{"PUT /api/v1/projects/{project}/environments/{env}", projectOwner, s.updateEnvironment},
		{"DELETE /api/v1/projects/{project}/environments/{env}", projectOwner, s.deleteEnvironment},
		{"GET /api/v1/projects/{project}/environments/{env}/deployments", projectRead, s.listDeployments},
		{"POST /api/v1/projects/{project}/environments/{env}/deployments", projectWrite, s.createDeployment},
		{"PATCH /api/v1/projects/{project}/environments/{env}/deployments", projectWrite, s.reportDeployment},
		{"POST /api/v1/projects/{project}/environments/{env}/promote", projectWrite, s.promoteDeployment},
		{"POST /api/v1/projects/{project}/environments/{env}/rollback", projectWrite, s.rollbackDeployment},
		{"GET /api/v1/projects/{project}/deployments", projectRead, s.deploymentMatrix},
		{"GET /api/v1/projects/{project}/releases", projectRead, s.listReleases},
		{"GET /api/v1/projects/{project}/releases/{version}", projectRead, s.getRelease},
		{"POST /api/v1/projects/{project}/releases/{version}", projectWrite, s.createRelease},
		{"POST /api/v1/projects/{project}/releases/{version}/final", projectWrite, s.finalRelease},
		{"GET /api/v1/projects/{project}/releases/{version}/deployments", projectRead, s.releaseDeployments},
		{"GET /api/v1/projects/{project}/release-settings", projectRead, s.getReleaseSettings},
		{"PUT /api/v1/projects/{project}/release-settings", projectOwner, s.putReleaseSettings},
		{"GET /api/v1/projects/{project}/environments/{env}/deployments/{deployment}", projectRead, s.getDeployment},
		{"GET /api/v1/projects/{project}/environments/{env}/variables", projectOwner, s.listEnvironmentVariables},
		{"PUT /api/v1/projects/{project}/environments/{env}/variables/{name}", projectOwner, s.putEnvironmentVariable},
		{"DELETE /api/v1/projects/{project}/environments/{env}/variables/{name}", projectOwner, s.deleteEnvironmentVariable},
		// Branch settings reach every job of the branch's runs: owners only.
		{"GET /api/v1/projects/{project}/branches", projectRead, s.listBranches},
		{"GET /api/v1/projects/{project}/branches/{branch...}", projectRead, s.getBranch},
		{"PATCH /api/v1/projects/{project}/branches/{branch...}", projectOwner, s.updateBranch},
		{"DELETE /api/v1/projects/{project}/branches/{branch...}", projectOwner, s.deleteBranch},
		{"GET /api/v1/projects/{project}/schedules", projectRead, s.listSchedules},
		{"GET /api/v1/projects/{project}/stats", projectRead, s.projectStats},
		{"GET /api/v1/projects/{project}/build-times", projectRead, s.buildTimes},
		// A public project's badge is readable without login (projectRead).
		{"GET /api/v1/projects/{project}/badge.svg", projectRead, s.badge},
		{"POST /api/v1/projects/{project}/schedules/{schedule}/pause", projectWrite, s.pauseSchedule},
		{"POST /api/v1/projects/{project}/schedules/{schedule}/resume", projectWrite, s.resumeSchedule},
		{"GET /api/v1/projects/{project}/webhooks", projectOwner, s.listWebhooks},
		{"POST /api/v1/projects/{project}/webhooks", projectOwner, s.createWebhook},
		{"GET /api/v1/projects/{project}/webhooks/{webhook}", projectOwner, s.getWebhook},
		{"PATCH /api/v1/projects/{project}/webhooks/{webhook}", projectOwner, s.updateWebhook},
		{"DELETE /api/v1/projects/{project}/webhooks/{webhook}", projectOwner, s.deleteWebhook},
		{"GET /api/v1/projects/{project}/webhooks/{webhook}/deliveries", projectOwner, s.listWebhookDeliveries},
		{"POST /api/v1/projects/{project}/webhooks/{webhook}/deliveries/{delivery}/redeliver", projectOwner, s.redeliverWebhook},

		{"GET /api/v1/runs", anyone, s.listRuns},
		{"GET /api/v1/runs/{run}", projectRead, s.getRun},
		{"POST /api/v1/runs/{run}/cancel", projectWrite, s.cancelRun},
		{"POST /api/v1/runs/{run}/rerun", projectWrite, s.rerunRun},
		{"POST /api/v1/runs/{run}/rerun-failed", projectWrite, s.rerunFailed},
		{"POST /api/v1/runs/{run}/approve", projectWrite, s.approveRun},
		{"POST /api/v1/runs/{run}/promote", projectWrite, s.promoteRun},
		{"GET /api/v1/runs/{run}/events", projectRead, s.runEvents},
		{"GET /api/v1/runs/{run}/stages", projectRead, s.listStages},
		{"GET /api/v1/runs/{run}/uploads", projectRead, s.listRunUploads},
		{"GET /api/v1/runs/{run}/statuses", projectRead, s.listRunStatuses},
		{"POST /api/v1/runs/{run}/statuses/resend", projectWrite, s.resendRunStatus},
		{"GET /api/v1/runs/{run}/artifacts", projectRead, s.listRunArtifacts},
		{"GET /api/v1/runs/{run}/artifacts.zip", projectRead, s.runArtifactsZip},
		{"GET /api/v1/artifacts/{artifact}", projectRead, s.getArtifact},
		{"GET /api/v1/artifacts/{artifact}/content", projectRead, s.artifactContent},
		{"GET /api/v1/projects/{project}/artifacts", projectRead, s.listProjectArtifacts},
		{"GET /api/v1/projects/{project}/caches", projectRead, s.listCaches},
		{"GET /api/v1/stages/{stage}", projectRead, s.getStage},
		{"PATCH /api/v1/stages/{stage}", projectWrite, s.updateStage},
		{"DELETE /api/v1/stages/{stage}", projectOwner, s.deleteStage},
		{"GET /api/v1/runs/{run}/tests", projectRead, s.listRunTests},
		{"GET /api/v1/runs/{run}/history", projectRead, s.runHistory},
		{"GET /api/v1/runs/{run}/issues", projectRead, s.listRunIssues},
		{"GET /api/v1/test-cases/{test_case}/history", projectRead, s.testCaseHistory},
		{"GET /api/v1/test-cases/{test_case}/comments", projectRead, s.listTestComments},
		{"POST /api/v1/test-cases/{test_case}/comments", projectWrite, s.addTestComment},
		{"GET /api/v1/builds", anyone, s.listBuilds},

		{"GET /api/v1/jobs", anyone, s.listJobs},
		{"GET /api/v1/deployments", anyone, s.listAllDeployments},
		{"GET /api/v1/environments", anyone, s.listAllEnvironments},
		{"GET /api/v1/jobs/{job}", projectRead, s.getJob},
		{"POST /api/v1/jobs/{job}/cancel", projectWrite, s.cancelJob},
		{"POST /api/v1/jobs/{job}/rerun", projectWrite, s.rerunJob},
		{"POST /api/v1/jobs/{job}/approve", projectWrite, s.approveJob},
		{"POST /api/v1/jobs/{job}/reject", projectWrite, s.rejectJob},
		{"GET /api/v1/jobs/{job}/log", projectRead, s.getLog},
		{"GET /api/v1/jobs/{job}/log/stream", projectRead, s.streamLog},
		{"GET /api/v1/jobs/{job}/log/lines", projectRead, s.getLogLines},

		// Tools run in every project's jobs that use them: admins publish.
		{"GET /api/v1/tools", authenticated, s.listTools},
		{"POST /api/v1/tools", adminOnly, s.publishTool},
		{"GET /api/v1/tools/{name}", authenticated, s.listToolVersions},
		{"GET /api/v1/tools/{name}/{version}", authenticated, s.getTool},
		{"DELETE /api/v1/tools/{name}/{version}", adminOnly, s.deleteTool},
		{"GET /api/v1/agents", authenticated, s.listAgents},
		{"PATCH /api/v1/agents", adminOnly, s.updateAgents},
		{"GET /api/v1/agents/{agent}", authenticated, s.getAgent},
		{"PATCH /api/v1/agents/{agent}", adminOnly, s.updateAgent},
		{"DELETE /api/v1/agents/{agent}", adminOnly, s.deleteAgent},
		{"GET /api/v1/agents/{agent}/attempts", adminOnly, s.listAgentAttempts},

		{"GET /api/v1/systems", authenticated, s.listSystems},
		{"GET /api/v1/agent-groups", authenticated, s.listGroups},
		{"POST /api/v1/agent-groups", adminOnly, s.createGroup},
		{"GET /api/v1/agent-groups/{group}", authenticated, s.getGroup},
		{"PATCH /api/v1/agent-groups/{group}", adminOnly, s.updateGroup},
		{"DELETE /api/v1/agent-groups/{group}", adminOnly, s.deleteGroup},
		{"GET /api/v1/agent-groups/{group}/agents", authenticated, s.listGroupAgents},
		{"GET /api/v1/agent-groups/{group}/instances", authenticated, s.listGroupInstances},
		{"POST /api/v1/agent-groups/{group}/agents", adminOnly, s.addGroupAgents},
		{"DELETE /api/v1/agent-groups/{group}/agents/{agent}", adminOnly, s.removeGroupAgent},

		// Secrets: values go in, never out. Roles (issue 5, item 3) to
		// come: project owner to list and write a project's, admin for the
		// global ones; the key is readable by whoever may read the project.
		{"GET /api/v1/projects/{project}/secrets", projectOwner, s.listSecrets},
		{"POST /api/v1/projects/{project}/secrets", projectOwner, s.createSecret},
		{"GET /api/v1/projects/{project}/secrets/{name}", projectOwner, s.getSecret},
		{"PUT /api/v1/projects/{project}/secrets/{name}", projectOwner, s.putSecret},
		{"DELETE /api/v1/projects/{project}/secrets/{name}", projectOwner, s.deleteSecret},
		{"PATCH /api/v1/projects/{project}/secrets/{name}", projectOwner, s.patchSecret},
		{"GET /api/v1/projects/{project}/key.pub", projectRead, s.getProjectKey},
		// SSH keys for private repositories: public keys to whoever may
		// read the project (or any user: the server's); a rotation and
		// the trusted host keys' reset to its owner.
		{"GET /api/v1/projects/{project}/ssh-key.pub", projectRead, s.getProjectSSHKey},
		{"POST /api/v1/projects/{project}/ssh-key/rotate", projectOwner, s.rotateProjectSSHKey},
		{"GET /api/v1/projects/{project}/ssh-known-hosts", projectRead, s.getKnownHosts},
		{"DELETE /api/v1/projects/{project}/ssh-known-hosts", projectOwner, s.deleteKnownHosts},
		{"GET /api/v1/ssh-key.pub", authenticated, s.getServerSSHKey},
		{"GET /api/v1/secrets", adminOnly, s.listSecrets},
		{"POST /api/v1/secrets", adminOnly, s.createSecret},
		{"GET /api/v1/secrets/{name}", adminOnly, s.getSecret},
		{"PUT /api/v1/secrets/{name}", adminOnly, s.putSecret},
		{"DELETE /api/v1/secrets/{name}", adminOnly, s.deleteSecret},
		{"PATCH /api/v1/secrets/{name}", adminOnly, s.patchSecret},

		// Identity: login sessions, users, tokens, teams, the audit log.
		// Login checks a password itself (and is rate-limited per client).
		{"POST /api/v1/sessions", public, s.login},
		{"GET /api/v1/sessions/current", authenticated, s.currentSession},
		{"DELETE /api/v1/sessions/current", authenticated, s.logout},
		{"GET /api/v1/users/me", authenticated, s.me},
		{"PUT /api/v1/users/me/password", authenticated, s.changePassword},
		{"GET /api/v1/users", adminOnly, s.listUsers},
		{"POST /api/v1/users", adminOnly, s.createUser},
		{"GET /api/v1/users/{user}", adminOnly, s.getUser},
		{"PATCH /api/v1/users/{user}", adminOnly, s.updateUser},
		{"DELETE /api/v1/users/{user}", adminOnly, s.disableUser},
		{"PUT /api/v1/users/{user}/password", adminOnly, s.resetPassword},
		{"POST /api/v1/users/{user}/tokens", adminOnly, s.createUserToken},
		{"GET /api/v1/users/{user}/tokens", adminOnly, s.listUserTokens},
		{"GET /api/v1/users/{user}/projects", adminOnly, s.listUserGrants},
		{"DELETE /api/v1/users/{user}/tokens/{token}", adminOnly, s.deleteUserToken},
		{"GET /api/v1/tokens", authenticated, s.listTokens},
		{"POST /api/v1/tokens", authenticated, s.createToken},
		{"DELETE /api/v1/tokens/{token}", authenticated, s.deleteToken},
		{"GET /api/v1/teams", authenticated, s.listTeams},
		{"POST /api/v1/teams", adminOnly, s.createTeam},
		{"GET /api/v1/teams/{team}", authenticated, s.getTeam},
		{"GET /api/v1/teams/{team}/projects", adminOnly, s.listTeamGrants},
		{"DELETE /api/v1/teams/{team}", adminOnly, s.deleteTeam},
		{"POST /api/v1/teams/{team}/members", adminOnly, s.addTeamMember},
		{"DELETE /api/v1/teams/{team}/members/{user}", adminOnly, s.removeTeamMember},
		{"GET /api/v1/events", adminOnly, s.listEvents},

		{"GET /api/v1/forges", adminOnly, s.listForges},
		{"POST /api/v1/forges", adminOnly, s.createForge},
		{"GET /api/v1/forges/{forge}", adminOnly, s.getForge},
		{"GET /api/v1/forges/{forge}/repositories", adminOnly, s.listForgeRepos},
		{"PATCH /api/v1/forges/{forge}", adminOnly, s.updateForge},
		{"DELETE /api/v1/forges/{forge}", adminOnly, s.deleteForge},

		{"GET /api/v1/registration-tokens", adminOnly, s.listRegistrationTokens},
		{"POST /api/v1/registration-tokens", adminOnly, s.createRegistrationToken},
		{"POST /api/v1/registration-tokens/{token}/revoke", adminOnly, s.revokeRegistrationToken},

		// register authenticates its own credential, a registration token
		// (not an agent's or a user's), before it reads the body.
		{"POST /api/v1/agent/register", public, s.register},
		{"POST /api/v1/agent/claim", agentAuth, s.claimWhenAllowed},
		{"POST /api/v1/agent/attempts/{attempt}/report", agentAuth, s.report},
		{"GET /api/v1/agent/attempts/{attempt}/stop", agentAuth, s.waitStop},
		{"PUT /api/v1/agent/attempts/{attempt}/uploads/{name}", agentAuth, s.putUpload},
		{"GET /api/v1/agent/attempts/{attempt}/uploads/{name}", agentAuth, s.getUpload},
		{"GET /api/v1/agent/attempts/{attempt}/tools/{name}/{version}", agentAuth, s.getToolArchive},
		{"PUT /api/v1/agent/attempts/{attempt}/artifacts", agentAuth, s.putArtifact},
		{"GET /api/v1/agent/attempts/{attempt}/cache", agentAuth, s.restoreCache},
		{"PUT /api/v1/agent/attempts/{attempt}/cache", agentAuth, s.saveCache},
		{"PUT /api/v1/agent/attempts/{attempt}/reports/{kind}", agentAuth, s.putReport},
	}
}

// Routes lists every route's pattern (for the OpenAPI coverage test and docs).
func (s *Server) Routes() []string {
	var out []string
	for _, r := range s.routes() {
		out = append(out, r.Pattern)
	}
	return out
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	return nil
}

// readyz says whether the server can serve. Anyone may ask (a load
// balancer does), so the answer names what is wrong in a few fixed words
// and the server's log has the details: a database's error names its
// user, host and port, a disk's its path.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) error {
	if err := s.store.Ready(r.Context()); err != nil {
		slogFrom(r).Warn("not ready", "err", err)
		w.Header().Set("Retry-After", retryAfterUnavailable)
		what, _, _ := strings.Cut(err.Error(), ":") // "database unreachable", "database has pending migrations", …
		return problemf(http.StatusServiceUnavailable, "%s (the server's log has the details)", what)
	}
	if err := s.dispatch.RoomToRun(); err != nil {
		slogFrom(r).Warn("not ready", "err", err)
		w.Header().Set("Retry-After", retryAfterDiskFull)
		return problemf(http.StatusServiceUnavailable, "data directory: no space left on device (the server's log has the details)")
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	return nil
}
