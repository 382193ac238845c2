--
-- The system catalog: tables, constraints, indexes, and the indexes used
-- on 100,000 users.
--

SELECT c.relname, c.relkind, c.relrowsecurity AS rls,
	   (SELECT count(*) FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped) AS columns
FROM pg_class c WHERE c.relnamespace = 'system'::regnamespace AND c.relkind = 'r'
ORDER BY 1;

-- column types are the kalam keys and enums
SELECT table_name, column_name, udt_schema || '.' || udt_name AS type
FROM information_schema.columns
WHERE table_schema = 'system' AND udt_schema = 'kalam'
ORDER BY table_name, ordinal_position;

-- indexes of system.users
SELECT indexrelid::regclass AS index, indisunique AS is_unique,
	   pg_get_expr(indpred, indrelid) AS predicate
FROM pg_index WHERE indrelid = 'system.users'::regclass ORDER BY 1::text;

-- every system table is dumped by pg_dump
SELECT c.relname, e.extcondition
FROM pg_extension x, unnest(x.extconfig, x.extcondition) AS e(config, extcondition)
JOIN pg_class c ON c.oid = e.config
WHERE x.extname = 'kalamdb' ORDER BY 1;

-- seeded rows
SELECT storage_id, storage_name FROM system.storages;
SELECT user_id, username, role, auth_type, password_hash IS NULL AS no_password FROM system.users;

-- constraints keep the catalog consistent
\set VERBOSITY terse
INSERT INTO system.users (user_id, username, password_hash) VALUES ('u1', 'u1', 'plain text');
INSERT INTO system.users (user_id, username, email) VALUES ('u1', 'u1', 'not an email');
INSERT INTO system.users (user_id, username, storage_id) VALUES ('u1', 'u1', 'nowhere');
INSERT INTO system.users (user_id, username) VALUES ('u1', 'ROOT');
INSERT INTO system.jobs (job_id, job_type) VALUES ('FL-000000000000', 'user_cleanup');
INSERT INTO system.tables (table_id, namespace_id, table_name, table_type, relation)
VALUES ('x.t', 'x', 't', 'user', 'pg_class');
\set VERBOSITY default

-- 100,000 users, a fifth of them soft-deleted over the last 100 days
INSERT INTO system.users (user_id, username, role, deleted_at, created_at)
SELECT ('id' || i)::kalam.user_id, ('User' || i)::kalam.user_name,
	   (ARRAY['user', 'service', 'dba', 'user', 'user'])[1 + i % 5]::kalam.role,
	   CASE WHEN i % 5 = 0 THEN timestamptz '2099-01-01' + (i % 100) * interval '1 day' + (i % 7) * interval '1 hour' END,
	   timestamptz '2025-01-01'
FROM generate_series(1, 100000) i;
ANALYZE system.users;

-- a user by name, case-insensitively
EXPLAIN (COSTS OFF) SELECT user_id FROM system.users WHERE username = 'USER42';
SELECT user_id, username FROM system.users WHERE username = 'USER42';
-- users of a role
EXPLAIN (COSTS OFF) SELECT count(*) FROM system.users WHERE role = 'dba';
-- soft-deleted more than 90 days before a date: one range scan
EXPLAIN (COSTS OFF)
SELECT user_id FROM system.users WHERE deleted_at < timestamptz '2099-04-11' - interval '90 days';
SELECT count(*) FROM system.users WHERE deleted_at < timestamptz '2099-04-11' - interval '90 days';
-- soft-deleted on a given day
EXPLAIN (COSTS OFF)
SELECT user_id FROM system.users
WHERE deleted_at >= timestamptz '2099-02-05' AND deleted_at < timestamptz '2099-02-06';
SELECT count(*) FROM system.users
WHERE deleted_at >= timestamptz '2099-02-05' AND deleted_at < timestamptz '2099-02-06';
-- the user cleanup job's query (kalam._job_expired_users, which is not
-- inlined because of its SET search_path): the oldest expired users first
EXPLAIN (COSTS OFF)
SELECT user_id FROM system.users
WHERE deleted_at IS NOT NULL AND deleted_at < timestamptz '2099-04-11' - interval '30 days'
  AND kalam._role_level(role) <= kalam._role_level('system')
ORDER BY deleted_at LIMIT 100;
SELECT count(*) FROM kalam._job_expired_users(now() - timestamptz '2099-04-11' + interval '30 days', 100000, 'system');

DELETE FROM system.users WHERE user_id <> 'root';
