package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	lathe "github.com/lathe-ci/lathe"
)

// A project's forge settings: its connection and repository, the branches
// whose pushes are trusted, who may open a trusted pull request, and
// whether a hook secret is set (the secret itself is read only by
// HookSecret).

const projectForgeCols = `, forge_id, COALESCE((SELECT f.name FROM forges f WHERE f.id = projects.forge_id), ''), repo, url_from_forge,
	protected_branches, pr_trust, hook_secret <> '', untrusted_labels`

// projectForgeScan receives projectForgeCols.
type projectForgeScan struct {
	forgeID   sql.NullInt64
	forge     string
	repo      string
	fromForge int
	protected string
	prTrust   string
	secretSet bool
	untrusted string
}

func (f *projectForgeScan) dest() []any {
	return []any{&f.forgeID, &f.forge, &f.repo, &f.fromForge, &f.protected, &f.prTrust, &f.secretSet, &f.untrusted}
}

func (f *projectForgeScan) into(p *lathe.Project) error {
	p.ForgeID, p.Forge, p.Repo, p.URLFromForge = f.forgeID.Int64, f.forge, f.repo, f.fromForge != 0
	p.PRTrust, p.HookSecretSet = f.prTrust, f.secretSet
	p.ProtectedBranches = []string{}
	if err := json.Unmarshal([]byte(f.protected), &p.ProtectedBranches); err != nil {
		return fmt.Errorf("project %d: stored protected_branches %q: %v", p.ID, f.protected, err)
	}
	p.UntrustedLabels = []string{}
	if err := json.Unmarshal([]byte(f.untrusted), &p.UntrustedLabels); err != nil {
		return fmt.Errorf("project %d: stored untrusted_labels %q: %v", p.ID, f.untrusted, err)
	}
	return nil
}

// setProjectForge writes p's forge settings.
func (t *txn) setProjectForge(ctx context.Context, p *lathe.Project) error {
	if p.ProtectedBranches == nil {
		p.ProtectedBranches = []string{}
	}
	if p.PRTrust == "" {
		p.PRTrust = lathe.PRTrustWriteOnForge
	}
	if p.UntrustedLabels == nil {
		p.UntrustedLabels = []string{}
	}
	protected, err := json.Marshal(p.ProtectedBranches)
	if err != nil {
		return err
	}
	untrusted, err := json.Marshal(p.UntrustedLabels)
	if err != nil {
		return err
	}
	var forgeID any
	if p.ForgeID != 0 {
		forgeID = p.ForgeID
		if err := t.queryRow(ctx, `SELECT name FROM forges WHERE id = ?`, p.ForgeID).Scan(&p.Forge); err != nil {
			return notFound(err, "forge", p.ForgeID)
		}
	} else {
		p.Forge = ""
	}
	_, err = t.exec(ctx, `UPDATE projects SET forge_id = ?, repo = ?, url_from_forge = ?, protected_branches = ?, pr_trust = ?,
		untrusted_labels = ? WHERE id = ?`,
		forgeID, p.Repo, boolInt(p.URLFromForge), string(protected), p.PRTrust, string(untrusted), p.ID)
	if err != nil {
		return fmt.Errorf("project %d forge settings: %w", p.ID, err)
	}
	// Runs report their statuses to the forge once it knows the repository.
	return t.setCommitStatuses(ctx, p.ID, p.ForgeID != 0 && p.Repo != "")
}

// hookSecretAD binds a sealed hook secret to its project.
func hookSecretAD(projectID int64) []byte {
	return fmt.Appendf(nil, "project:%d/hook-secret", projectID)
}

// SetHookSecret seals and stores the secret that signs a project's forge hooks.
func (s *Store) SetHookSecret(ctx context.Context, k Sealer, projectID int64, secret string) error {
	keyID, ct := k.Seal([]byte(secret), hookSecretAD(projectID))
	return s.tx(ctx, func(t *txn) error {
		res, err := t.exec(ctx, `UPDATE projects SET hook_secret_key_id = ?, hook_secret = ?, updated_at = ? WHERE id = ?`,
			keyID, encodeCT(ct), micros(t.now), projectID)
		if err != nil {
			return fmt.Errorf("set the hook secret of project %d: %w", projectID, err)
		}
		return mustAffect(res, "project", projectID)
	})
}

// HookSecret opens a project's hook secret; nil when none is set.
func (s *Store) HookSecret(ctx context.Context, k Sealer, projectID int64) ([]byte, error) {
	var keyID, text string
	err := s.queryRow(ctx, `SELECT hook_secret_key_id, hook_secret FROM projects WHERE id = ?`, projectID).Scan(&keyID, &text)
	if err != nil {
		return nil, notFound(err, "project", projectID)
	}
	if text == "" {
		return nil, nil
	}
	if k == nil {
		return nil, fmt.Errorf("project %d's hook secret is sealed, and this server has no secret key", projectID)
	}
	v, err := openRow(k, keyID, text, hookSecretAD(projectID))
	if err != nil {
		return nil, fmt.Errorf("open the hook secret of project %d: %w", projectID, err)
	}
	return v, nil
}

// sealedForgeRows appends the sealed forge tokens and hook secrets to out,
// for the key check and re-encryption (see sealedRows).
func (t *txn) sealedForgeRows(ctx context.Context, out []sealedRow, onePerKey bool) ([]sealedRow, error) {
	forgesQ := `SELECT id, key_id, token FROM forges WHERE token <> ''`
	hooksQ := `SELECT id, hook_secret_key_id, hook_secret FROM projects WHERE hook_secret <> ''`
	if onePerKey {
		forgesQ += ` AND id IN (SELECT MIN(id) FROM forges GROUP BY key_id)`
		hooksQ += ` AND id IN (SELECT MIN(id) FROM projects WHERE hook_secret <> '' GROUP BY hook_secret_key_id)`
	}
	return t.readSealed(ctx, out, sealedQuery{"forges", forgesQ, forgeTokenAD}, sealedQuery{"hook_secrets", hooksQ, hookSecretAD})
}
