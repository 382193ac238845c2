-- pgTAP: USER, SHARED and STREAM tables: registration, and per-user
-- isolation through every path (SELECT, INSERT, UPDATE, DELETE, COPY,
-- index and index-only scans, a non-leakproof function in WHERE).

SET client_min_messages = warning;
SET kalam.bcrypt_cost = 4;
SELECT plan(120);

\ir include/helpers.sql
SELECT pg_temp.recreate_roles('{kalam_tbl_app,kalam_tbl_owner}');
GRANT pg_read_server_files, pg_write_server_files TO kalam_tbl_app;

-- the same for a command that returns no rows
CREATE FUNCTION pg_temp.exec_as(r name, kalam_user text, sql text) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM kalam._set_effective_user(kalam_user::kalam.user_id, true);
	EXECUTE format('SET LOCAL ROLE %I', r);
	EXECUTE sql;
	RESET ROLE;
	RETURN 'done';
EXCEPTION WHEN others THEN
	RETURN 'ERROR ' || SQLSTATE || ': ' || SQLERRM;
END $$;

SELECT kalam.create_user('alice', 'alice-secret-1') AS alice \gset
SELECT kalam.create_user('bob', 'bob-secret-123') AS bob \gset
SELECT kalam.create_user('sam', 'sam-secret-123', 'service') AS sam \gset
SELECT kalam.create_user('dora', 'dora-secret-12', 'dba') AS dora \gset
SELECT kalam.create_namespace('app');
GRANT USAGE ON SCHEMA app TO kalam_tbl_app, kalam_tbl_owner;

-- registration rules
CREATE TABLE app.notes (owner kalam.user_id, id bigint, body text, at timestamptz DEFAULT now()) USING kalamdb;
CREATE TABLE app.heap_notes (owner kalam.user_id, body text) USING heap;
CREATE TABLE app.no_owner (body text) USING kalamdb;
CREATE TABLE public.outside (owner kalam.user_id) USING kalamdb;
CREATE TABLE app.events (owner kalam.user_id, at timestamptz, payload text) USING kalamdb;
CREATE TABLE app.untimed (owner kalam.user_id, payload text) USING kalamdb;

SELECT throws_ok($$SELECT kalam.register_table('app.heap_notes', 'user')$$, '42809',
				 'table app.heap_notes does not use the kalamdb access method', 'a USER table must use kalamdb');
SELECT throws_ok($$SELECT kalam.register_table('app.no_owner', 'user')$$, '42P16',
				 'table app.no_owner has no kalam.user_id column to own its rows', 'a USER table needs an owner column');
SELECT throws_ok($$SELECT kalam.register_table('public.outside', 'user')$$, '3F000',
				 'schema "public" is not a kalam namespace', 'a registered table lives in a namespace');
SELECT throws_ok($$SELECT kalam.register_table('app.notes', 'system')$$, '22023', NULL, 'system tables are the extension''s');
SELECT throws_ok($$SELECT kalam.register_table('app.events', 'stream')$$, '22023', NULL, 'a STREAM table needs a TTL');
SELECT throws_ok($$SELECT kalam.register_table('app.untimed', 'stream', ttl => '1 hour')$$, '42P16', NULL,
				 'a STREAM table needs a timestamptz column');
SELECT throws_ok($$SELECT kalam.register_table('app.notes', 'user', 'public')$$, '22023', NULL,
				 'only SHARED tables have an access level');
SELECT is(kalam.register_table('app.notes', 'user')::text, 'app.notes', 'register_table returns the table id');
SELECT throws_ok($$SELECT kalam.register_table('app.notes', 'user')$$, '42710', NULL, 'a table is registered once');
-- row-level security filters the table a query names: no inheritance trees
CREATE TABLE app.parted (id int, v text) PARTITION BY RANGE (id);
CREATE TABLE app.parted_1 PARTITION OF app.parted FOR VALUES FROM (0) TO (100);
SELECT throws_ok($$SELECT kalam.register_table('app.parted', 'shared', 'restricted')$$, '0A000',
				 'table app.parted is partitioned, a partition, or in an inheritance tree',
				 'a partitioned table is not registered (its partitions would have no policies)');
SELECT throws_ok($$SELECT kalam.register_table('app.parted_1', 'shared')$$, '0A000', NULL,
				 'nor is a partition');
SELECT throws_ok($$CREATE TABLE app.parted_w (id int) PARTITION BY RANGE (id) WITH (type = 'shared')$$, '0A000', NULL,
				 'nor a partitioned table created WITH (type = ...)');
SELECT throws_ok($$CREATE TABLE app.notes_child () INHERITS (app.notes)$$, '0A000',
				 'registered table app.notes cannot be part of an inheritance tree',
				 'a registered table gets no inheritance child');
CREATE TABLE app.loose (owner kalam.user_id NOT NULL, id bigint, body text, at timestamptz) USING kalamdb;
SELECT throws_ok($$ALTER TABLE app.loose INHERIT app.notes$$, '0A000', NULL, 'nor through ALTER TABLE ... INHERIT');
CREATE FOREIGN DATA WRAPPER kalam_test_fdw;
CREATE SERVER kalam_test_server FOREIGN DATA WRAPPER kalam_test_fdw;
SELECT throws_ok($$CREATE FOREIGN TABLE app.notes_far () INHERITS (app.notes) SERVER kalam_test_server$$, '0A000', NULL,
				 'nor a foreign table');
SELECT throws_ok($$ALTER TABLE app.notes INHERIT app.loose$$, '0A000', NULL, 'nor a parent');
CREATE TABLE app.parted_notes (owner kalam.user_id, id bigint, body text, at timestamptz) PARTITION BY RANGE (id);
SELECT throws_ok($$ALTER TABLE app.parted_notes ATTACH PARTITION app.notes FOR VALUES FROM (0) TO (100)$$, '0A000', NULL,
				 'nor does it become a partition');
DROP TABLE app.parted, app.loose, app.parted_notes;
DROP SERVER kalam_test_server;
DROP FOREIGN DATA WRAPPER kalam_test_fdw;
SELECT is(pg_temp.run_as('kalam_tbl_app', :'dora', $$SELECT kalam.register_table('app.events', 'stream', ttl => '1 hour')$$),
		  'ERROR 42501: must be owner of table app.events', 'only the table''s owner registers it');

SELECT is((SELECT concat_ws(',', table_type, owner_column, relation) FROM system.tables WHERE table_id = 'app.notes'),
		  'user,owner,app.notes', 'system.tables records the table and its owner column');
SELECT ok((SELECT relrowsecurity AND relforcerowsecurity FROM pg_class WHERE oid = 'app.notes'::regclass),
		  'row-level security is enabled and forced');
SELECT col_default_is('app', 'notes', 'owner', 'kalam.current_user_id()', 'the owner defaults to the effective user');
SELECT col_not_null('app', 'notes', 'owner', 'the owner column is NOT NULL');
SELECT ok(EXISTS (SELECT 1 FROM pg_index WHERE indrelid = 'app.notes'::regclass AND indkey[0] = 1),
		  'an index led by the owner column is created');

GRANT SELECT, INSERT, UPDATE, DELETE ON app.notes TO kalam_tbl_app;

-- the isolation matrix
SELECT is(pg_temp.run_as('kalam_tbl_app', :'alice', $$INSERT INTO app.notes (id, body) VALUES (1, 'a1'), (2, 'a2'), (3, 'a3') RETURNING 'ok'$$),
		  'ok', 'alice inserts her rows (owner from the default)');
SELECT is(pg_temp.run_as('kalam_tbl_app', :'bob', $$INSERT INTO app.notes (id, body) VALUES (11, 'b1'), (12, 'b2') RETURNING 'ok'$$),
		  'ok', 'bob inserts his');
SELECT is((SELECT count(*) FROM app.notes WHERE owner = :'alice'), 3::bigint, 'the rows got their owners');
SELECT is(pg_temp.run_as('kalam_tbl_app', :'alice', 'SELECT string_agg(body, '','' ORDER BY id) FROM app.notes'),
		  'a1,a2,a3', 'alice sees only her rows');
SELECT is(pg_temp.run_as('kalam_tbl_app', :'bob', 'SELECT string_agg(body, '','' ORDER BY id) FROM app.notes'),
		  'b1,b2', 'bob sees only his');
SELECT is(pg_temp.run_as('kalam_tbl_app', NULL, 'SELECT count(*) FROM app.notes'),
		  '0', 'with no effective user, nothing is visible');
SELECT is(pg_temp.run_as('kalam_tbl_app', :'alice', format($$SELECT count(*) FROM app.notes WHERE owner = %L$$, :'bob')),
		  '0', 'asking for bob''s rows by owner gives alice nothing');
SELECT is(pg_temp.run_as('kalam_tbl_app', :'alice', format($$INSERT INTO app.notes (owner, id, body) VALUES (%L, 4, 'forged') RETURNING 1$$, :'bob')),
		  'ERROR 42501: new row violates row-level security policy for table "notes"', 'alice cannot insert as bob');
SELECT is(pg_temp.run_as('kalam_tbl_app', :'alice', $$UPDATE app.notes SET body = body || '!' RETURNING 1$$),
		  '1', 'an UPDATE of all rows ...');
SELECT is((SELECT string_agg(body, ',' ORDER BY id) FROM app.notes), 'a1!,a2!,a3!,b1,b2', '... changes only alice''s');
SELECT is(pg_temp.run_as('kalam_tbl_app', :'alice', format($$UPDATE app.notes SET owner = %L WHERE id = 1 RETURNING 1$$, :'bob')),
		  'ERROR 42501: new row violates row-level security policy for table "notes"', 'alice cannot give a row to bob');
SELECT is(pg_temp.run_as('kalam_tbl_app', :'alice', $$UPDATE app.notes SET body = 'x' WHERE id = 11 RETURNING 1$$),
		  NULL, 'alice cannot update bob''s row by its key');
SELECT is(pg_temp.run_as('kalam_tbl_app', :'alice', $$DELETE FROM app.notes WHERE id IN (3, 12) RETURNING id$$),
		  '3', 'a DELETE reaches only alice''s rows');
SELECT is((SELECT string_agg(id::text, ',' ORDER BY id) FROM app.notes), '1,2,11,12', 'bob''s row 12 is still there');

-- index and index-only scans enforce it too
INSERT INTO app.notes (owner, id, body) SELECT :'bob', i, 'bulk' FROM generate_series(100, 2000) i;
ANALYZE app.notes;
CREATE FUNCTION pg_temp.plan_of(sql text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	line text;
	plan text := '';
BEGIN
	SET LOCAL enable_seqscan = off;
	SET LOCAL enable_bitmapscan = off;
	FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || sql LOOP
		plan := plan || line || E'\n';
	END LOOP;
	RETURN plan;
END $$;
SELECT matches(pg_temp.run_as('kalam_tbl_app', :'alice', $$SELECT pg_temp.plan_of('SELECT owner FROM app.notes WHERE owner >= ''-''')$$),
			   'Index Only Scan', 'an index-only scan is planned for alice');
-- the scans themselves, planned after the settings (run_as's second query)
SELECT is(pg_temp.run_as('kalam_tbl_app', :'alice',
		  $$SELECT set_config('enable_seqscan', 'off', true), set_config('enable_bitmapscan', 'off', true)$$,
		  $$SELECT count(*) FROM app.notes WHERE owner >= '-'$$),
		  '2', 'and it returns only her rows');
SELECT matches(pg_temp.run_as('kalam_tbl_app', :'alice',
		  format($$SELECT pg_temp.plan_of(%L)$$,
				 format($$SELECT id FROM app.notes WHERE owner = %L AND id BETWEEN 100 AND 2000$$, :'bob'))),
		  'Index Scan', 'an index scan is planned for bob''s key');
SELECT is(pg_temp.run_as('kalam_tbl_app', :'alice',
		  $$SELECT set_config('enable_seqscan', 'off', true), set_config('enable_bitmapscan', 'off', true)$$,
		  format($$SELECT count(*) FROM app.notes WHERE owner = %L AND id BETWEEN 100 AND 2000$$, :'bob')),
		  '0', 'an index scan on bob''s key gives alice nothing');
SELECT is(pg_temp.run_as('kalam_tbl_app', :'bob',
		  $$SELECT set_config('enable_seqscan', 'off', true), set_config('enable_bitmapscan', 'off', true)$$,
		  format($$SELECT count(*) FROM app.notes WHERE owner = %L AND id BETWEEN 100 AND 2000$$, :'bob')),
		  '1901', 'where bob finds his rows');

-- a non-leakproof function in WHERE never sees other users' rows
CREATE TEMP TABLE leaked (body text);
GRANT INSERT, SELECT ON leaked TO kalam_tbl_app;
CREATE FUNCTION pg_temp.leak(b text) RETURNS boolean LANGUAGE plpgsql COST 0.0000001 AS $$
BEGIN
	INSERT INTO pg_temp.leaked VALUES (b);
	RETURN true;
END $$;
SELECT is(pg_temp.run_as('kalam_tbl_app', :'alice', 'SELECT count(*) FROM app.notes WHERE pg_temp.leak(body)'),
		  '2', 'alice''s query with a leaky function');
SELECT is((SELECT count(*) FROM leaked WHERE body NOT LIKE 'a%'), 0::bigint,
		  'the function saw none of bob''s rows');

-- COPY: out, only your rows; in, refused (row-level security)
SELECT current_setting('data_directory') || '/kalamdb_tables_test.copy' AS copyfile \gset
SELECT is(pg_temp.exec_as('kalam_tbl_app', :'alice', format('COPY app.notes (id) TO %L', :'copyfile')), 'done', 'COPY TO runs');
SELECT is(pg_read_file(:'copyfile'), E'1\n2\n', 'and writes only alice''s rows');
SELECT is(pg_temp.exec_as('kalam_tbl_app', :'alice', format('COPY app.notes (id, body) FROM %L', :'copyfile')),
		  'ERROR 0A000: COPY FROM not supported with row-level security', 'COPY FROM is refused');

-- the table's owner is held to the policy as well (FORCE)
ALTER TABLE app.notes OWNER TO kalam_tbl_owner;
SELECT is(pg_temp.run_as('kalam_tbl_owner', NULL, 'SELECT count(*) FROM app.notes'), '0',
		  'the table owner sees nothing without an effective user');
SELECT is(pg_temp.run_as('kalam_tbl_owner', :'alice', 'SELECT count(*) FROM app.notes'), '2',
		  'and only alice''s rows as alice');
SELECT is((SELECT count(*) FROM app.notes), 1905::bigint, 'a superuser bypasses row-level security');

-- SHARED tables and their access levels
CREATE TABLE app.news (id int, body text);
CREATE TABLE app.ops (id int, body text);
CREATE TABLE app.secrets (id int, body text);
SELECT is(kalam.register_table('app.news', 'shared')::text, 'app.news', 'shared tables are public by default');
SELECT kalam.register_table('app.ops', 'shared', 'private');
SELECT kalam.register_table('app.secrets', 'shared', 'restricted');
SELECT is((SELECT array_agg(access_level::text ORDER BY table_id) FROM system.tables WHERE table_type = 'shared'),
		  ARRAY['public', 'private', 'restricted'], 'their access levels are recorded');
INSERT INTO app.news VALUES (1, 'hello');
INSERT INTO app.ops VALUES (1, 'runbook');
INSERT INTO app.secrets VALUES (1, 'keys');
GRANT SELECT, INSERT, UPDATE, DELETE ON app.news, app.ops, app.secrets TO kalam_tbl_app;
SELECT is(pg_temp.run_as('kalam_tbl_app', :'alice', 'SELECT count(*) FROM app.news'), '1', 'public: a user reads');
SELECT is(pg_temp.run_as('kalam_tbl_app', NULL, 'SELECT count(*) FROM app.news'), '1', 'public: even without a user');
SELECT is(pg_temp.run_as('kalam_tbl_app', :'alice', $$INSERT INTO app.news VALUES (2, 'spam') RETURNING 1$$),
		  'ERROR 42501: new row violates row-level security policy for table "news"', 'public: a user does not write');
SELECT is(pg_temp.run_as('kalam_tbl_app', :'sam', $$INSERT INTO app.news VALUES (2, 'update') RETURNING 1$$),
		  '1', 'public: a service writes');
SELECT is(pg_temp.run_as('kalam_tbl_app', :'alice', 'SELECT count(*) FROM app.ops'), '0', 'private: a user sees nothing');
SELECT is(pg_temp.run_as('kalam_tbl_app', :'sam', 'SELECT count(*) FROM app.ops'), '1', 'private: a service reads');
SELECT is(pg_temp.run_as('kalam_tbl_app', :'sam', 'SELECT count(*) FROM app.secrets'), '0', 'restricted: a service sees nothing');
SELECT is(pg_temp.run_as('kalam_tbl_app', :'dora', 'SELECT count(*) FROM app.secrets'), '1', 'restricted: a dba reads');
SELECT is(pg_temp.run_as('kalam_tbl_app', :'dora', $$DELETE FROM app.secrets RETURNING 1$$), '1', 'restricted: a dba writes');

-- STREAM tables: user-scoped, with a TTL for eviction
SELECT kalam.register_table('app.events', 'stream', ttl => '1 hour');
SELECT is((SELECT concat_ws(',', ttl, options->>'time_column') FROM system.tables WHERE table_id = 'app.events'),
		  '01:00:00,at', 'the TTL and its time column are recorded');
GRANT SELECT, INSERT ON app.events TO kalam_tbl_app;
SELECT pg_temp.run_as('kalam_tbl_app', :'alice', $$INSERT INTO app.events (at, payload) VALUES (now(), 'typing') RETURNING 1$$);
SELECT pg_temp.run_as('kalam_tbl_app', :'bob', $$INSERT INTO app.events (at, payload) VALUES (now(), 'online') RETURNING 1$$);
SELECT is(pg_temp.run_as('kalam_tbl_app', :'alice', 'SELECT string_agg(payload, '','') FROM app.events'), 'typing',
		  'a stream is per user, too');

-- KalamDB's spelling: CREATE TABLE ... WITH (type = ...) registers the table
CREATE TABLE app.said (owner kalam.user_id, body text) USING kalamdb WITH (TYPE = 'USER');
SELECT is((SELECT concat_ws(',', table_type, owner_column) FROM system.tables WHERE table_id = 'app.said'),
		  'user,owner', 'WITH (type = ''user'') registers a USER table');
SELECT ok((SELECT relrowsecurity AND relforcerowsecurity AND reloptions IS NULL
		   FROM pg_class WHERE oid = 'app.said'::regclass),
		  'with row-level security, and no option left in pg_class');
CREATE TABLE app.board (id int, note text) WITH (type = 'shared', access_level = 'private', fillfactor = 90,
	STORAGE_ID = 'LOCAL');
SELECT is((SELECT storage_id::text FROM system.tables WHERE table_id = 'app.board'), 'local',
		  'option values in any case: the storage id too');
SELECT is((SELECT concat_ws(',', table_type, access_level) FROM system.tables WHERE table_id = 'app.board'),
		  'shared,private', 'a SHARED table with its access level (on heap)');
SELECT is((SELECT reloptions FROM pg_class WHERE oid = 'app.board'::regclass), '{fillfactor=90}',
		  'heap''s own options stay');
CREATE TABLE app.ticks (owner kalam.user_id, at timestamptz) USING kalamdb WITH (type = 'stream', ttl = '5 minutes');
SELECT is((SELECT ttl FROM system.tables WHERE table_id = 'app.ticks'), '00:05:00'::interval,
		  'a STREAM table with its TTL');
SELECT throws_ok($$CREATE TABLE app.bad (owner kalam.user_id) USING kalamdb WITH (type = 'bogus')$$, '22P02', NULL,
				 'an unknown type is refused');
SELECT hasnt_table('app', 'bad', 'and the table is not created');
SELECT throws_ok($$CREATE TABLE app.bad (body text) USING kalamdb WITH (type = 'user')$$, '42P16', NULL,
				 'a USER table without an owner column is refused, as by register_table');
SELECT throws_ok($$CREATE TABLE app.bad (owner kalam.user_id) WITH (type = 'shared', TYPE = 'user')$$, '22023',
				 'parameter "type" specified more than once', 'an option given twice is refused');
SELECT lives_ok($$CREATE TABLE IF NOT EXISTS app.said (owner kalam.user_id) USING kalamdb WITH (type = 'user')$$,
				'CREATE TABLE IF NOT EXISTS of a registered table does nothing');
SELECT throws_ok($$CREATE TABLE app.bad (body text) WITH (ttl = '1 hour')$$, '22023', 'unrecognized parameter "ttl"',
				 'without a type, the options are PostgreSQL''s as ever');
DROP TABLE app.said, app.board, app.ticks;

-- what reaches past row-level security to every user's rows at once stays
-- the owner's, whatever was granted
GRANT ALL ON app.notes TO kalam_tbl_app;
SELECT is(pg_temp.exec_as('kalam_tbl_app', :'alice', 'TRUNCATE app.notes'),
		  'ERROR 42501: must be owner of table app.notes to truncate it',
		  'TRUNCATE of a registered table is its owner''s, GRANT ALL or not');
SELECT is(pg_temp.exec_as('kalam_tbl_app', :'alice',
						  'CREATE TRIGGER peek AFTER INSERT ON app.notes FOR EACH ROW EXECUTE FUNCTION suppress_redundant_updates_trigger()'),
		  'ERROR 42501: must be owner of table app.notes to create a trigger on it', 'and so are its triggers');
REVOKE ALL ON app.notes FROM kalam_tbl_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON app.notes TO kalam_tbl_app;
SELECT ok((SELECT count(*) FROM app.notes) > 0 AND NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgname = 'peek'),
		  'the rows are still there, and no trigger came');

-- a table whose own policies would widen what users see
CREATE TABLE app.diary (owner kalam.user_id, txt text) USING kalamdb;
ALTER TABLE app.diary ENABLE ROW LEVEL SECURITY;
CREATE POLICY legacy_read ON app.diary FOR SELECT USING (true);
SELECT throws_ok($$SELECT kalam.register_table('app.diary', 'user')$$, '55000',
				 'table app.diary has row-level security policies of its own',
				 'a table with a permissive policy of its own is not registered');
DROP POLICY legacy_read ON app.diary;
CREATE POLICY legacy_read ON app.diary AS RESTRICTIVE FOR SELECT USING (true);
SELECT lives_ok($$SELECT kalam.register_table('app.diary', 'user')$$, 'a restrictive one narrows it only: registered');
DROP TABLE app.diary;
-- a table with a trigger someone else made, before registering
CREATE TABLE app.spied (owner kalam.user_id, txt text) USING kalamdb;
GRANT TRIGGER ON app.spied TO kalam_tbl_app;
GRANT CREATE ON SCHEMA app TO kalam_tbl_app;
SET ROLE kalam_tbl_app;
CREATE FUNCTION app.spy() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;
CREATE TRIGGER spy AFTER INSERT ON app.spied FOR EACH ROW EXECUTE FUNCTION app.spy();
RESET ROLE;
SELECT throws_ok($$SELECT kalam.register_table('app.spied', 'user')$$, '55000',
				 'table app.spied has triggers that run functions of another role than its owner',
				 'a table with a trigger running another role''s function is not registered');
DROP TRIGGER spy ON app.spied;
SELECT lives_ok($$SELECT kalam.register_table('app.spied', 'user')$$, 'without it, it is');
-- system.tables unreadable to a role: its CREATE TRIGGER elsewhere still works
REVOKE SELECT ON system.tables FROM PUBLIC;
SET ROLE kalam_tbl_app;
CREATE TABLE app.own (x int);
SELECT lives_ok($$CREATE TRIGGER mine AFTER INSERT ON app.own FOR EACH ROW EXECUTE FUNCTION app.spy()$$,
				'a role that cannot read system.tables still makes triggers on its own tables');
DROP TABLE app.own;
DROP FUNCTION app.spy();
RESET ROLE;
GRANT SELECT ON system.tables TO PUBLIC;
REVOKE CREATE ON SCHEMA app FROM kalam_tbl_app;
DROP TABLE app.spied;
SELECT throws_ok($$SELECT kalam.register_table(NULL, 'user')$$, '22004', NULL, 'register_table(NULL): 22004');
SELECT throws_ok($$SELECT kalam.unregister_table(NULL)$$, '22004', NULL, 'unregister_table(NULL): 22004');
SELECT throws_ok($$SELECT kalam.unregister_table(0)$$, '42P01', NULL, 'unregister_table of no relation: 42P01');

-- unregister and DROP TABLE
SELECT is((SELECT string_agg(tgname, ',' ORDER BY tgname) FROM pg_trigger WHERE tgrelid = 'app.news'::regclass),
		  'kalam_live_queries,kalam_live_truncate,kalam_owner_truncates',
		  'a registered table has the live query triggers, and the owner-only TRUNCATE one');
SELECT lives_ok($$SELECT kalam.unregister_table('app.news')$$, 'unregister_table');
SELECT is((SELECT count(*) FROM pg_trigger WHERE tgrelid = 'app.news'::regclass), 0::bigint,
		  'unregister_table removes the triggers');
SELECT is((SELECT count(*) FROM pg_policy WHERE polrelid = 'app.news'::regclass), 0::bigint, 'removes the policies');
SELECT ok(NOT (SELECT relrowsecurity FROM pg_class WHERE oid = 'app.news'::regclass), 'and row-level security');
DROP TABLE app.events;
SELECT is((SELECT count(*) FROM system.tables WHERE table_id = 'app.events'), 0::bigint,
		  'DROP TABLE removes the registration');
SELECT is((SELECT count(*) FROM system.tables), 3::bigint, 'the others stay');
-- DROP SCHEMA of a namespace drops its row, and its tables' registrations
SELECT kalam.create_namespace('scratch');
CREATE TABLE scratch.notes (owner kalam.user_id, body text) USING kalamdb WITH (type = 'user');
DROP SCHEMA scratch CASCADE;
SELECT is((SELECT count(*) FROM system.namespaces WHERE namespace_id = 'scratch')
		  + (SELECT count(*) FROM system.tables WHERE namespace_id = 'scratch'), 0::bigint,
		  'DROP SCHEMA ... CASCADE of a namespace removes it and its tables from the catalog');
SELECT lives_ok($$SELECT kalam.create_namespace('scratch'), kalam.drop_namespace('scratch')$$,
				'and the name can be used again');
SELECT throws_ok($$SELECT kalam.create_namespace('app')$$, '42P06', 'namespace "app" already exists',
				 'a namespace is made once');

-- The registration follows what ALTER does to the table and its namespace
SELECT kalam.create_namespace('moves');
SELECT kalam.create_namespace('moved');
CREATE TABLE moves.chats (owner kalam.user_id, body text) USING kalamdb WITH (type = 'user');
SELECT kalam._set_effective_user(:'alice', false);
SELECT live_id IS NOT NULL AS subscribed FROM kalam.subscribe('SELECT * FROM moves.chats');
ALTER TABLE moves.chats RENAME TO talks;
SELECT is((SELECT table_id::text || ' ' || table_name::text FROM system.tables WHERE relation = 'moves.talks'::regclass),
		  'moves.talks talks', 'a rename of a registered table renames its registration');
SELECT is((SELECT table_id::text FROM system.live_queries WHERE user_id = :'alice'), 'moves.talks',
		  'and its live queries follow');
SELECT kalam.logout();
ALTER TABLE moves.talks SET SCHEMA moved;
SELECT is((SELECT table_id::text FROM system.tables WHERE relation = 'moved.talks'::regclass), 'moved.talks',
		  'a move to another namespace too');
SELECT throws_ok($$ALTER TABLE moved.talks SET SCHEMA public$$, '3F000',
				 'registered table public.talks cannot leave the kalam namespaces',
				 'a registered table cannot leave the namespaces');
SELECT throws_ok($$ALTER TABLE moved.talks RENAME TO "Talks"$$, '42602',
				 'table name "Talks" is not in canonical (lower-case) form', 'nor take a name not in canonical form');
ALTER SCHEMA moved RENAME TO relocated;
SELECT is((SELECT table_id::text FROM system.tables WHERE relation = 'relocated.talks'::regclass)
		  || ' ' || (SELECT string_agg(namespace_id::text, ',' ORDER BY 1) FROM system.namespaces
					 WHERE namespace_id IN ('moved', 'relocated')),
		  'relocated.talks relocated', 'a namespace follows its schema renamed, with its tables');
SELECT throws_ok($$ALTER SCHEMA relocated RENAME TO "Upper"$$, '42602', NULL,
				 'a namespace''s schema takes no name a namespace cannot have');
ALTER TABLE relocated.talks RENAME COLUMN owner TO author;
SELECT is((SELECT owner_column::text FROM system.tables WHERE relation = 'relocated.talks'::regclass), 'author',
		  'the owner column renamed is followed');
SELECT throws_ok($$ALTER TABLE relocated.talks DROP COLUMN author CASCADE$$, '2BP01', NULL,
				 'the owner column of a registered table cannot be dropped');
CREATE TABLE relocated.beats (owner kalam.user_id, at timestamptz DEFAULT now(), body text)
	USING kalamdb WITH (type = 'stream', ttl = '1 hour');
ALTER TABLE relocated.beats RENAME COLUMN at TO sent_at;
SELECT is((SELECT options->>'time_column' FROM system.tables WHERE relation = 'relocated.beats'::regclass), 'sent_at',
		  'a stream''s time column renamed is followed');
SELECT throws_ok($$ALTER TABLE relocated.beats DROP COLUMN sent_at$$, '2BP01', NULL,
				 'and cannot be dropped');
SELECT throws_ok($$ALTER TABLE relocated.beats ALTER COLUMN sent_at TYPE timestamp$$, '2BP01', NULL,
				 'nor made another type');
ALTER INDEX relocated.talks RENAME TO chatter;
SELECT is((SELECT table_id::text FROM system.tables WHERE relation = 'relocated.chatter'::regclass),
		  'relocated.chatter', 'a table renamed through ALTER INDEX too');
ALTER TABLE relocated.chatter ADD COLUMN tag text;
SELECT lives_ok($$ALTER TABLE relocated.chatter ALTER COLUMN tag TYPE kalam.user_id USING NULL$$,
				'a later column made kalam.user_id is fine ...');
ALTER TABLE relocated.chatter DROP COLUMN tag;
CREATE TABLE relocated.early (tag text, owner kalam.user_id, body text) USING kalamdb WITH (type = 'user');
SELECT throws_ok($$ALTER TABLE relocated.early ALTER COLUMN tag TYPE kalam.user_id USING NULL$$, '42P16', NULL,
				 'but no column before the owner may become the first kalam.user_id one');
CREATE FUNCTION relocated.stamp(int) RETURNS timestamptz LANGUAGE sql IMMUTABLE AS $$SELECT 'epoch'::timestamptz + $1 * interval '1 s'$$;
CREATE TABLE relocated.ticks (owner kalam.user_id, n int, at timestamptz GENERATED ALWAYS AS (relocated.stamp(n)) STORED)
	USING kalamdb WITH (type = 'stream', ttl = '1 hour');
SELECT throws_ok($$DROP FUNCTION relocated.stamp(int) CASCADE$$, '2BP01', NULL,
				 'a stream''s time column is not dropped with what it depends on either');
CREATE TYPE relocated.shape AS (owner kalam.user_id, body text);
CREATE TABLE relocated.typed OF relocated.shape USING kalamdb;
SELECT throws_ok($$SELECT kalam.register_table('relocated.typed', 'user')$$, '0A000', NULL,
				 'a typed table is not registered (ALTER TYPE ... CASCADE would change its columns unseen)');
CREATE TYPE relocated.chatter_shape AS (author kalam.user_id, body text);
SELECT throws_ok($$ALTER TABLE relocated.chatter OF relocated.chatter_shape$$, '0A000', NULL,
				 'nor does a registered table become one');
CREATE SCHEMA stamps;
CREATE FUNCTION stamps.ts(bigint) RETURNS timestamptz IMMUTABLE LANGUAGE sql AS 'SELECT to_timestamp($1)';
SELECT kalam.create_namespace('gone');
CREATE TABLE gone.ev (owner kalam.user_id, epoch bigint, at timestamptz GENERATED ALWAYS AS (stamps.ts(epoch)) STORED)
	USING kalamdb WITH (type = 'stream', ttl = '1 hour');
SELECT lives_ok($$DROP SCHEMA stamps, gone CASCADE$$,
				'a table dropped whole drops its time column with it, whichever comes first');
SELECT lives_ok($$SELECT kalam.unregister_table('relocated.chatter')$$, 'a renamed table is unregistered');
DROP SCHEMA relocated CASCADE;
SELECT is((SELECT count(*) FROM system.namespaces WHERE namespace_id IN ('gone', 'relocated')), 0::bigint,
		  'the namespaces dropped are gone from the catalog');
SELECT kalam.drop_namespace('moves');
SELECT throws_ok($$SELECT kalam.register_table('app.notes', 'stream', ttl => '-1 hour')$$, '22023', NULL,
				 'a negative TTL is refused as such');
SELECT throws_ok($$SELECT kalam.register_table('app.notes', 'user', storage_id => NULL)$$, '22004', NULL,
				 'a NULL storage too');
SELECT throws_ok($$SELECT kalam.register_table('app.notes', 'user', storage_id => 'nowhere')$$, '42704',
				 'storage "nowhere" does not exist', 'and a storage that does not exist');

SELECT * FROM finish();

DROP TABLE app.notes, app.heap_notes, app.no_owner, public.outside, app.untimed, app.news, app.ops, app.secrets;
SELECT kalam.drop_namespace('app');
DELETE FROM system.users WHERE user_id <> 'root';
TRUNCATE system.audit_log;
DROP OWNED BY kalam_tbl_app, kalam_tbl_owner;
DROP ROLE kalam_tbl_app;
DROP ROLE kalam_tbl_owner;
