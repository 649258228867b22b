// Package dispatch sits between the HTTP layer and the store. It carries
// out the agent protocol (claim with secret delivery, report, uploads) and
// the actions users take on runs and jobs (trigger, approve, reject,
// cancel, re-run, trust approval), and makes the decisions these need:
// which secrets an attempt gets, who may answer an approval gate, whether
// the server has room to start a run, what the audit log records.
//
// Every method takes the acting principal explicitly (an Actor), so the
// rules are testable without HTTP. The API's route-level role check still
// runs first, before a request reaches this package; the checks here are
// the finer ones, and for user actions a second check of the role itself.
package dispatch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"syscall"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/internal/diskspace"
	"github.com/lathe-ci/lathe/secret"
	"github.com/lathe-ci/lathe/store"
	"github.com/lathe-ci/lathe/trigger"
)

// Service dispatches the agent protocol and user actions to the store.
type Service struct {
	store   *store.Store
	trigger *trigger.Service
	log     *slog.Logger
	// keys open secrets and repository credentials (see SetKeyring); nil:
	// secrets are off.
	keys *secret.Keyring
	// dataDir is the server's data directory, whose disk RoomToRun checks
	// (see SetDataDir); empty: unchecked.
	dataDir string
	// ForgeClient makes the calls to forges that hooks need (whether a
	// pull request's author may write). Set it before serving.
	ForgeClient *http.Client
}

// forgeTimeout bounds a call to a forge by the default ForgeClient.
const forgeTimeout = 10 * time.Second

// New returns a service over the store and the trigger service.
func New(st *store.Store, tr *trigger.Service, log *slog.Logger) *Service {
	if log == nil {
		log = slog.Default()
	}
	return &Service{store: st, trigger: tr, log: log, ForgeClient: &http.Client{Timeout: forgeTimeout}}
}

// SetKeyring gives the service the keys that open secrets. Call it before serving.
func (s *Service) SetKeyring(k *secret.Keyring) { s.keys = k }

// SetDataDir names the server's data directory (SQLite database, git
// mirrors, uploads), whose disk every trigger checks first: a run started
// on a full disk would fail in some git or SQLite message, whereas an
// error naming the full disk tells the operator what to do.
func (s *Service) SetDataDir(dir string) { s.dataDir = dir }

// Actor is who acts: a user (User, UserID; Admin when the user is an admin
// and the credential has the admin scope) or an agent (Agent). For an
// action on a project's run or job, Project is that project and Role the
// actor's role on it, as the caller resolved them.
type Actor struct {
	UserID int64
	User   string
	Admin  bool
	Agent  *lathe.Agent
	// Project and Role: the project the action concerns and the actor's
	// role on it (owner for admins).
	Project *lathe.Project
	Role    lathe.Role
}

// name is how the audit log names the actor.
func (a Actor) name() string {
	switch {
	case a.User != "":
		return a.User
	case a.Agent != nil:
		return "agent:" + a.Agent.Name
	}
	return "anonymous"
}

// requireRole refuses an actor whose role on the action's project is below want.
func (a Actor) requireRole(want lathe.Role) error {
	if a.Admin || a.Role.Rank() >= want.Rank() {
		return nil
	}
	project := "the project"
	if a.Project != nil {
		project = "project " + a.Project.Name
	}
	return fmt.Errorf("needs %s on %s; %s has %s: %w", want, project, a.name(), roleName(a.Role), lathe.ErrForbidden)
}

func roleName(r lathe.Role) string {
	if r == lathe.RoleNone {
		return "no role"
	}
	return string(r)
}

// requireAgent refuses an actor that is not an agent.
func (a Actor) requireAgent() error {
	if a.Agent == nil {
		return fmt.Errorf("needs an agent credential: %w", lathe.ErrForbidden)
	}
	return nil
}

// refusal is a refusal whose message is the whole of what the caller is
// told: of the caller's input (lathe.ErrInvalid, 400; see invalidf), or of
// what the server's state does not allow now (lathe.ErrConflict, 409; see
// conflictf).
type refusal struct {
	msg  string
	kind error
}

func (e *refusal) Error() string        { return e.msg }
func (e *refusal) Is(target error) bool { return target == e.kind }

func invalidf(format string, args ...any) error {
	return &refusal{fmt.Sprintf(format, args...), lathe.ErrInvalid}
}

func conflictf(format string, args ...any) error {
	return &refusal{fmt.Sprintf(format, args...), lathe.ErrConflict}
}

// RoomToRun returns an error wrapping syscall.ENOSPC (which the store
// reports as store.DiskFull) when the data directory's disk is full. Not
// being able to tell says nothing.
func (s *Service) RoomToRun() error {
	if s.dataDir == "" {
		return nil
	}
	if err := diskspace.Check(s.dataDir); errors.Is(err, syscall.ENOSPC) {
		return fmt.Errorf("data directory %w", err)
	}
	return nil
}

// Audit records who did what. A failure to record is logged, not
// returned: the action itself has already happened.
func (s *Service) Audit(ctx context.Context, actor, action string, p *lathe.Project, details map[string]any) {
	var pid int64
	if p != nil {
		pid = p.ID
		if details == nil {
			details = map[string]any{}
		}
		details["project"] = p.Name
	}
	if actor == "" {
		actor = "anonymous"
	}
	if err := s.store.Audit(ctx, actor, action, pid, details); err != nil {
		s.log.Error("audit log write failed", "action", action, "actor", actor, "err", err)
	}
}
