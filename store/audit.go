package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	lathe "github.com/lathe-ci/lathe"
)

// AuditEvent is one entry of the audit log.
type AuditEvent struct {
	ID        int64          `json:"id"`
	At        string         `json:"at"`
	Actor     string         `json:"actor"`
	Action    string         `json:"action"`
	ProjectID *int64         `json:"project_id"`
	Details   map[string]any `json:"details"`
}

// Audit records that actor did action (on the project, if projectID is not 0).
func (s *Store) Audit(ctx context.Context, actor, action string, projectID int64, details map[string]any) error {
	if details == nil {
		details = map[string]any{}
	}
	b, err := json.Marshal(details)
	if err != nil {
		return fmt.Errorf("audit %s: %w", action, err)
	}
	var pid any
	if projectID != 0 {
		pid = projectID
	}
	return s.tx(ctx, func(t *txn) error {
		_, err := t.exec(ctx, `INSERT INTO audit_events (at, actor, action, project_id, details) VALUES (?, ?, ?, ?, ?)`,
			micros(t.now), actor, action, pid, string(b))
		return err
	})
}

// AuditFilter selects audit events; zero fields select all.
type AuditFilter struct {
	ProjectID int64
	// Action is an action (role.granted), which also takes in the actions
	// under it (agent takes agent.authorized, agent.disabled, …).
	Action string
	// Actor is who acted, exactly.
	Actor string
	// Since and Until bound when the events were recorded: at or after
	// Since, before Until (zero: unbounded).
	Since, Until time.Time
	Before       int64
	Limit        int
}

// AuditEvents lists audit events newest first.
func (s *Store) AuditEvents(ctx context.Context, f AuditFilter) (lathe.Page[*AuditEvent], error) {
	if f.Limit < 1 {
		return lathe.Page[*AuditEvent]{}, fmt.Errorf("list audit events: limit %d: %w", f.Limit, lathe.ErrInvalid)
	}
	var where []string
	var args []any
	add := func(cond string, arg any) { where, args = append(where, cond), append(args, arg) }
	if f.ProjectID != 0 {
		add("project_id = ?", f.ProjectID)
	}
	if f.Action != "" {
		where = append(where, "(action = ? OR substr(action, 1, ?) = ?)")
		args = append(args, f.Action, len(f.Action)+1, f.Action+".")
	}
	if f.Actor != "" {
		add("actor = ?", f.Actor)
	}
	if !f.Since.IsZero() {
		add("at >= ?", micros(f.Since))
	}
	if !f.Until.IsZero() {
		add("at < ?", micros(f.Until))
	}
	if f.Before > 0 {
		add("id < ?", f.Before)
	}
	rows, err := s.query(ctx, `SELECT id, at, actor, action, project_id, details FROM audit_events`+whereClause(where)+
		` ORDER BY id DESC LIMIT ?`, append(args, f.Limit+1)...)
	if err != nil {
		return lathe.Page[*AuditEvent]{}, fmt.Errorf("list audit events: %w", err)
	}
	defer rows.Close()
	var items []*AuditEvent
	for rows.Next() {
		var e AuditEvent
		var at int64
		var details string
		if err := rows.Scan(&e.ID, &at, &e.Actor, &e.Action, &e.ProjectID, &details); err != nil {
			return lathe.Page[*AuditEvent]{}, fmt.Errorf("list audit events: %w", err)
		}
		e.At = fromMicros(at).Format("2006-01-02T15:04:05.000000Z07:00")
		if err := json.Unmarshal([]byte(details), &e.Details); err != nil {
			return lathe.Page[*AuditEvent]{}, fmt.Errorf("audit event %d: %w", e.ID, err)
		}
		items = append(items, &e)
	}
	return page(items, f.Limit, func(e *AuditEvent) int64 { return e.ID }), rows.Err()
}
