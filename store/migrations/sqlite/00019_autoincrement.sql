-- +goose Up
-- IDs are never reused after a delete, as with PostgreSQL's sequences: an
-- old link, log URL or audit event naming run 12 must not point at another
-- run 12 made after the first was deleted. SQLite reuses the highest
-- rowid unless the table is AUTOINCREMENT, and a table cannot be altered
-- to it; AUTOINCREMENT changes nothing in the table's stored rows, only
-- that SQLite keeps its high-water mark in sqlite_sequence, so the
-- definitions are rewritten in place rather than every table being copied.
-- Each of these tables' first INTEGER PRIMARY KEY is its id column.
CREATE TABLE lathe_autoincrement_seed (id INTEGER PRIMARY KEY AUTOINCREMENT); -- creates sqlite_sequence
DROP TABLE lathe_autoincrement_seed;
PRAGMA writable_schema = ON;
UPDATE sqlite_schema
   SET sql = substr(sql, 1, instr(sql, 'INTEGER PRIMARY KEY') + 18) || ' AUTOINCREMENT'
          || substr(sql, instr(sql, 'INTEGER PRIMARY KEY') + 19)
 WHERE type = 'table' AND sql NOT LIKE '%AUTOINCREMENT%' AND name IN (
       'projects', 'runs', 'stages', 'jobs', 'agents', 'attempts', 'api_tokens', 'registration_tokens',
       'agent_groups', 'holds', 'secrets', 'users', 'teams', 'audit_events', 'hook_tokens');
-- Reload the rewritten definitions on this connection.
PRAGMA writable_schema = RESET;
INSERT INTO sqlite_sequence (name, seq)
SELECT 'projects', COALESCE(MAX(id), 0) FROM projects UNION ALL
SELECT 'runs', COALESCE(MAX(id), 0) FROM runs UNION ALL
SELECT 'stages', COALESCE(MAX(id), 0) FROM stages UNION ALL
SELECT 'jobs', COALESCE(MAX(id), 0) FROM jobs UNION ALL
SELECT 'agents', COALESCE(MAX(id), 0) FROM agents UNION ALL
SELECT 'attempts', COALESCE(MAX(id), 0) FROM attempts UNION ALL
SELECT 'api_tokens', COALESCE(MAX(id), 0) FROM api_tokens UNION ALL
SELECT 'registration_tokens', COALESCE(MAX(id), 0) FROM registration_tokens UNION ALL
SELECT 'agent_groups', COALESCE(MAX(id), 0) FROM agent_groups UNION ALL
SELECT 'holds', COALESCE(MAX(id), 0) FROM holds UNION ALL
SELECT 'secrets', COALESCE(MAX(id), 0) FROM secrets UNION ALL
SELECT 'users', COALESCE(MAX(id), 0) FROM users UNION ALL
SELECT 'teams', COALESCE(MAX(id), 0) FROM teams UNION ALL
SELECT 'audit_events', COALESCE(MAX(id), 0) FROM audit_events UNION ALL
SELECT 'hook_tokens', COALESCE(MAX(id), 0) FROM hook_tokens;
-- Other connections reload the schema when its version changes.
CREATE TABLE lathe_schema_bump (x INTEGER);
DROP TABLE lathe_schema_bump;

-- +goose Down
SELECT 1;
