package lathe

import "time"

// User is a person or a service account. Admins may do everything; others
// get what their project roles (direct or through teams) allow.
type User struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
	// Email is the user's address, set by an admin; "" for none.
	Email string `json:"email"`
	Admin bool   `json:"admin"`
	// Service accounts have no password; they act through API tokens only.
	Service  bool `json:"service"`
	Disabled bool `json:"disabled"`
	// HasPassword says whether the user can log in with a password.
	HasPassword bool      `json:"has_password"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// Role is a level of access to one project; each includes the ones below it.
type Role string

// Project roles, weakest first.
const (
	RoleNone  Role = ""
	RoleRead  Role = "read"  // see runs, logs, artifacts
	RoleWrite Role = "write" // trigger, cancel, retry, approve
	RoleOwner Role = "owner" // settings, secrets, members, environments
)

// Rank orders roles: a role grants everything a lower rank does.
func (r Role) Rank() int {
	switch r {
	case RoleRead:
		return 1
	case RoleWrite:
		return 2
	case RoleOwner:
		return 3
	}
	return 0
}

// Valid reports whether r names a project role.
func (r Role) Valid() bool { return r.Rank() > 0 }

// RoleInfo describes a project role: what it lets its holder do.
type RoleInfo struct {
	Name Role `json:"name"`
	// Rank orders the roles: each grants everything a lower rank does.
	Rank        int    `json:"rank"`
	Description string `json:"description"`
}

// Roles are the project roles, weakest first.
var Roles = []RoleInfo{
	{RoleRead, 1, "see the project, its pipelines, runs, logs, artifacts, test results, releases and deployments"},
	{RoleWrite, 2, "also start, cancel, re-run and approve runs and jobs, and upload, promote and deploy"},
	{RoleOwner, 3, "also change the project's settings, secrets, members, environments, hooks and schedules, and delete it"},
}

// Scope limits what an API token may do on its owner's behalf. Scopes nest:
// write includes read, admin includes write.
type Scope string

// Token scopes, narrowest first.
const (
	ScopeRead  Scope = "read"  // GET requests
	ScopeWrite Scope = "write" // any request the owner's roles allow
	ScopeAdmin Scope = "admin" // admin routes, if the owner is an admin
)

// Rank orders scopes like Role.Rank.
func (s Scope) Rank() int {
	switch s {
	case ScopeRead:
		return 1
	case ScopeWrite:
		return 2
	case ScopeAdmin:
		return 3
	}
	return 0
}

// APIToken describes a token or a login session; the secret itself is
// shown once, at creation, and never stored.
type APIToken struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
	User string `json:"user"`
	// Kind is "token" (an API token) or "session" (a login).
	Kind      string     `json:"kind"`
	Scopes    []Scope    `json:"scopes"`
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt *time.Time `json:"expires_at"`
	LastUsed  *time.Time `json:"last_used"`
	// Token is the secret, present only in the answer that creates it.
	Token string `json:"token,omitempty"`
}

// MaxScope is the widest of the token's scopes.
func (t *APIToken) MaxScope() Scope {
	best := Scope("")
	for _, s := range t.Scopes {
		if s.Rank() > best.Rank() {
			best = s
		}
	}
	return best
}

// Team groups users so a role can be granted to all of them at once.
type Team struct {
	ID        int64     `json:"id"`
	Name      string    `json:"name"`
	Members   []string  `json:"members"`
	CreatedAt time.Time `json:"created_at"`
}

// Member is a role on a project granted to a user or a team (one of them).
type Member struct {
	User string `json:"user,omitempty"`
	Team string `json:"team,omitempty"`
	Role Role   `json:"role"`
}

// ProjectGrant is a role held on a project, seen from the user or team
// holding it: Team is set when the role comes through that team.
type ProjectGrant struct {
	Project string `json:"project"`
	Team    string `json:"team,omitempty"`
	Role    Role   `json:"role"`
}

// Project visibilities.
const (
	VisibilityPrivate = "private" // only members (and admins) read it
	VisibilityPublic  = "public"  // anyone reads it, without logging in
)
