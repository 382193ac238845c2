-- pgTAP: background jobs.  The worker runs them asynchronously: the file
-- commits as it goes, and waits for jobs with pg_temp.wait_for_job().

SET client_min_messages = warning;
SET kalam.bcrypt_cost = 4;
SELECT plan(74);

-- wait_for_job(id, statuses): wait (up to 30 s) until the job reaches one
-- of the statuses; returns the status it has then.
CREATE FUNCTION pg_temp.wait_for_job(id kalam.job_id, statuses text[]) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	s text;
BEGIN
	FOR i IN 1..300 LOOP
		SELECT status::text INTO s FROM system.jobs WHERE job_id = id;
		EXIT WHEN s = ANY (statuses);
		PERFORM pg_sleep(0.1);
	END LOOP;
	RETURN s;
END $$;

-- eventually(condition): whether the condition (an SQL boolean
-- expression) comes true within 30 s
CREATE FUNCTION pg_temp.eventually(condition text) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
	met boolean;
BEGIN
	FOR i IN 1..300 LOOP
		EXECUTE 'SELECT ' || condition INTO met;
		IF met THEN
			RETURN true;
		END IF;
		PERFORM pg_sleep(0.1);
	END LOOP;
	RETURN false;
END $$;
SELECT ok(pg_temp.eventually($$EXISTS (SELECT 1 FROM pg_stat_activity WHERE backend_type = 'kalamdb worker'
										AND datname = current_database())$$),
		  'a kalamdb worker serves this database');

-- the lifecycle of a job
SELECT kalam.submit_job('job_cleanup') AS j1 \gset
SELECT is(pg_temp.wait_for_job(:'j1', '{completed,failed}'), 'completed', 'a job_cleanup job completes');
SELECT ok((SELECT started_at IS NOT NULL AND finished_at >= started_at AND started_at >= created_at
		   FROM system.jobs WHERE job_id = :'j1'), 'it was started and finished, in that order');
SELECT matches((SELECT message FROM system.jobs WHERE job_id = :'j1'), '^removed \d+ old jobs$',
			   'its message tells what it did');
SELECT ok((SELECT parameters ? 'result' FROM system.jobs WHERE job_id = :'j1'), 'its counts are in parameters');

-- the worker (a superuser) resolves nothing through public, whatever
-- search_path the database's defaults give it: an "=" on kalam.job_status
-- there, which its statements would otherwise prefer to pg_catalog's
-- anyenum "=", is never called by it
CREATE TABLE public.kalam_worker_called (pid int);
CREATE FUNCTION public.kalam_job_status_eq(a kalam.job_status, b kalam.job_status) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
	IF (SELECT backend_type FROM pg_stat_activity WHERE pid = pg_backend_pid()) = 'kalamdb worker' THEN
		INSERT INTO public.kalam_worker_called VALUES (pg_backend_pid());
	END IF;
	RETURN a::text = b::text;
END $$;
CREATE OPERATOR public.= (LEFTARG = kalam.job_status, RIGHTARG = kalam.job_status,
						  FUNCTION = public.kalam_job_status_eq);
SELECT kalam.submit_job('job_cleanup') AS j1b \gset
SELECT is(pg_temp.wait_for_job(:'j1b', '{completed,failed}'), 'completed', 'a job runs with an "=" on job_status in public');
SELECT is((SELECT count(*) FROM public.kalam_worker_called), 0::bigint, 'which the worker never called');
DROP OPERATOR public.= (kalam.job_status, kalam.job_status);
DROP FUNCTION public.kalam_job_status_eq(kalam.job_status, kalam.job_status);
DROP TABLE public.kalam_worker_called;

-- a failing job is retried up to max_retries, then failed (a job type
-- this server does not run: another one may)
SELECT kalam.submit_job('flush', '{}', NULL, 2) AS j2 \gset
SELECT is(pg_temp.wait_for_job(:'j2', '{failed,completed}'), 'failed', 'a job that keeps failing ends failed');
SELECT is((SELECT retry_count FROM system.jobs WHERE job_id = :'j2'), 2, 'after max_retries retries');
SELECT matches((SELECT exception_trace FROM system.jobs WHERE job_id = :'j2'), '^ERROR 0A000: job type flush',
			   'with the error in exception_trace');
SELECT kalam.submit_job('flush', '{}', NULL, 0) AS j3 \gset
SELECT is(pg_temp.wait_for_job(:'j3', '{failed,completed}'), 'failed', 'a job type this server does not run fails');
SELECT matches((SELECT exception_trace FROM system.jobs WHERE job_id = :'j3'), '^ERROR 0A000: job type flush is not run by this server',
			   'saying so');

-- idempotency keys: one active job per key
SELECT throws_ok($$SELECT kalam.submit_job('job_cleanup', '{}', 'nightly'), kalam.submit_job('job_cleanup', '{}', 'nightly')$$,
				 '23505', 'a job with idempotency key "nightly" is already active', 'a second active job with the same key is refused');
SELECT kalam.submit_job('job_cleanup', '{}', 'nightly') AS j4 \gset
SELECT is(pg_temp.wait_for_job(:'j4', '{completed,failed}'), 'completed', 'once the first is done ...');
SELECT lives_ok($$SELECT kalam.submit_job('job_cleanup', '{}', 'nightly')$$, '... the key can be used again');
SELECT throws_ok($$SELECT kalam.submit_job(NULL)$$, '22004', NULL, 'no NULL job type');
SELECT throws_ok($$SELECT kalam.submit_job('job_cleanup', '{"completed_age": "-1 day"}')$$, '22023', NULL,
				 'no negative age: it would remove the jobs that just finished');
SELECT throws_ok($$SELECT kalam.submit_job('job_cleanup', '{"failed_age": "1 mon -40 days"}')$$, '22023', NULL,
				 'nor one negative only once its month is counted');
SELECT throws_ok($$SELECT kalam.submit_job('job_cleanup', '{"failed_age": "soon"}')$$, '22023', NULL,
				 'an age must be an interval');
SELECT throws_ok($$SELECT kalam.submit_job('job_cleanup', '{}', NULL, -1)$$, '22023', NULL,
				 'no negative max_retries');
SELECT throws_ok($$SELECT kalam.submit_job('job_cleanup', '{}', NULL, NULL)$$, '22004', NULL,
				 'no NULL max_retries');
SELECT throws_ok($$SELECT kalam.cancel_job(NULL)$$, '22004', NULL, 'no NULL job to cancel');
-- an error no retry would get past fails the job at once
SELECT kalam.submit_job('compact', '{"table": "public.nowhere"}', NULL, 3) AS j_gone \gset
SELECT is(pg_temp.wait_for_job(:'j_gone', '{failed}') || ' ' || (SELECT retry_count FROM system.jobs WHERE job_id = :'j_gone'),
		  'failed 0', 'a job naming a table that does not exist fails without retries');

-- the keys of scheduled runs are the worker's: a job under one would keep
-- the schedule from running as long as it stays active
SELECT throws_ok($$SELECT kalam.submit_job('flush', '{}', 'schedule:stream_eviction', 1000000)$$,
				 '22023', 'idempotency keys starting with "schedule:" are reserved for scheduled jobs',
				 'the keys of scheduled jobs are reserved');

-- cancellation
SELECT is(kalam.cancel_job(kalam.submit_job('job_cleanup'))::text, 'cancelled', 'a waiting job is cancelled');
SELECT throws_ok(format('SELECT kalam.cancel_job(%L)', :'j1'), '55000', NULL, 'a finished job cannot be cancelled');

-- who may submit
CREATE ROLE kalam_jobs_app NOLOGIN;
SET ROLE kalam_jobs_app;
SELECT throws_ok($$SELECT kalam.submit_job('job_cleanup')$$, '42501', NULL, 'submitting jobs needs dba or system');
RESET ROLE;
DROP ROLE kalam_jobs_app;

-- user cleanup across three USER tables
SELECT kalam.create_namespace('jobs_test');
CREATE TABLE jobs_test.t1 (owner kalam.user_id, v int) USING kalamdb;
CREATE TABLE jobs_test.t2 (owner kalam.user_id, v int) USING kalamdb;
CREATE TABLE jobs_test.t3 (v int, owner kalam.user_id, note text) USING kalamdb;
SELECT kalam.register_table('jobs_test.t1', 'user');
SELECT kalam.register_table('jobs_test.t2', 'user');
SELECT kalam.register_table('jobs_test.t3', 'user');
-- t1 belongs to an ordinary role, whose trigger notes who deletes: the
-- cleanup must run as the table's owner, not as the superuser worker
CREATE ROLE kalam_jobs_owner NOLOGIN;
CREATE TABLE jobs_test.purge_seen (who name, owner kalam.user_id);
ALTER TABLE jobs_test.purge_seen OWNER TO kalam_jobs_owner;
CREATE FUNCTION jobs_test.note_purge() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO jobs_test.purge_seen VALUES (current_user, OLD.owner);
	RETURN OLD;
END $$;
CREATE TRIGGER note_purge AFTER DELETE ON jobs_test.t1 FOR EACH ROW EXECUTE FUNCTION jobs_test.note_purge();
ALTER TABLE jobs_test.t1 OWNER TO kalam_jobs_owner;
SELECT kalam.create_user('expired', 'expired-secret-1') AS expired \gset
SELECT kalam.create_user('recent', 'recent-secret-12') AS recent \gset
SELECT kalam.create_user('active', 'active-secret-12') AS active \gset
INSERT INTO jobs_test.t1 SELECT u, i FROM unnest(ARRAY[:'expired', :'recent', :'active']::kalam.user_id[]) u, generate_series(1, 10) i;
INSERT INTO jobs_test.t2 SELECT u, i FROM unnest(ARRAY[:'expired', :'recent', :'active']::kalam.user_id[]) u, generate_series(1, 20) i;
INSERT INTO jobs_test.t3 SELECT i, u FROM unnest(ARRAY[:'expired', :'recent', :'active']::kalam.user_id[]) u, generate_series(1, 30) i;
-- a second expired user, with rows in a STREAM table too; one dropped
-- long ago but restored since
CREATE TABLE jobs_test.t4 (owner kalam.user_id, at timestamptz DEFAULT now()) USING kalamdb;
SELECT kalam.register_table('jobs_test.t4', 'stream', ttl => '1 day');
SELECT kalam.create_user('expired2', 'expired2-secret') AS expired2 \gset
SELECT kalam.create_user('restored', 'restored-secret') AS restored \gset
INSERT INTO jobs_test.t2 SELECT u, i FROM unnest(ARRAY[:'expired2', :'restored']::kalam.user_id[]) u, generate_series(1, 5) i;
INSERT INTO jobs_test.t4 (owner) SELECT u FROM unnest(ARRAY[:'expired2', :'restored', :'active']::kalam.user_id[]) u, generate_series(1, 7) i;
SELECT kalam.drop_user(u) FROM unnest(ARRAY['expired', 'expired2', 'recent', 'restored']::kalam.user_name[]) u;
UPDATE system.users SET deleted_at = now() - interval '31 days' WHERE username IN ('expired', 'expired2');
UPDATE system.users SET deleted_at = now() - interval '1 day' WHERE username = 'recent';
UPDATE system.users SET deleted_at = now() - interval '40 days' WHERE username = 'restored';
SELECT kalam.restore_user('restored');
-- a table's owner renamed its owner column since registering it
ALTER TABLE jobs_test.t3 RENAME COLUMN owner TO owned_by;
SELECT kalam.submit_job('user_cleanup') AS j5 \gset
SELECT is(pg_temp.wait_for_job(:'j5', '{completed,failed}'), 'completed', 'user cleanup completes');
SELECT is((SELECT message FROM system.jobs WHERE job_id = :'j5'), 'purged 2 users and 72 rows',
		  'it purged the two expired users and their 60 + 12 rows');
SELECT is((SELECT count(*) FROM jobs_test.t1 WHERE owner IN (:'expired', :'expired2'))
		  + (SELECT count(*) FROM jobs_test.t2 WHERE owner IN (:'expired', :'expired2'))
		  + (SELECT count(*) FROM jobs_test.t3 WHERE owned_by IN (:'expired', :'expired2'))
		  + (SELECT count(*) FROM jobs_test.t4 WHERE owner IN (:'expired', :'expired2')),
		  0::bigint, 'no row of the expired users is left, in USER and STREAM tables (one with its owner column renamed)');
SELECT is((SELECT count(*) FROM jobs_test.t1) + (SELECT count(*) FROM jobs_test.t2) + (SELECT count(*) FROM jobs_test.t3)
		  + (SELECT count(*) FROM jobs_test.t4), 139::bigint, 'every row of the others is');
SELECT is((SELECT count(*) FROM system.users WHERE username IN ('expired', 'expired2')), 0::bigint, 'the expired users are gone');
SELECT is((SELECT string_agg(username::text, ',' ORDER BY username) FROM system.users
		   WHERE username IN ('recent', 'active', 'restored')), 'active,recent,restored',
		  'the recently dropped, the restored and the active user stay');
SELECT ok(EXISTS (SELECT 1 FROM system.audit_log WHERE action = 'user.purge' AND target_user_id = :'expired'),
		  'the purge is audited');
SELECT is((SELECT string_agg(DISTINCT who::text, ',') || ' ' || count(*) FROM jobs_test.purge_seen),
		  'kalam_jobs_owner 10', 'the purge ran as the owner of the table (its triggers get no superuser rights)');

-- a dba's user cleanup purges no user of role system, whom a dba may not
-- drop, restore or purge, whatever parameters it passes
SELECT kalam.create_user('jobs_dba', 'jobs-dba-secret', 'dba') AS jobs_dba \gset
SELECT kalam.create_user('old_system', 'old-system-secret', 'system') AS old_system \gset
SELECT kalam.create_user('old_user', 'old-user-secret1') AS old_user \gset
SELECT kalam.drop_user(u) FROM unnest(ARRAY['old_system', 'old_user']::kalam.user_name[]) u;
UPDATE system.users SET deleted_at = now() - interval '40 days' WHERE username IN ('old_system', 'old_user');
CREATE ROLE kalam_jobs_dba NOLOGIN;
SELECT set_config('kalam.user_id', :'jobs_dba', false) IS NOT NULL AS acting_as_dba;
SET ROLE kalam_jobs_dba;
SELECT kalam.submit_job('user_cleanup', '{"max_role": "system"}') AS j_dba \gset
SELECT throws_ok($$SELECT kalam.submit_job('user_cleanup', '[]')$$, '22023', 'job parameters must be a JSON object',
				 'parameters that are not an object are refused');
RESET ROLE;
RESET kalam.user_id;
DROP ROLE kalam_jobs_dba;
SELECT is(pg_temp.wait_for_job(:'j_dba', '{completed,failed}'), 'completed', 'a dba''s user cleanup completes');
SELECT is((SELECT string_agg(username::text, ',' ORDER BY username) FROM system.users
		   WHERE username IN ('old_system', 'old_user')), 'old_system',
		  'it purged the expired user, not the expired system user');
SELECT kalam.restore_user('old_system');

-- a table whose trigger refuses one user's purge: the other users are
-- purged all the same, and the job fails, saying which one it could not
CREATE TABLE jobs_test.t6 (owner kalam.user_id, v int) USING kalamdb;
SELECT kalam.register_table('jobs_test.t6', 'user');
CREATE FUNCTION jobs_test.refuse_purge() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF OLD.v = 13 THEN
		RAISE EXCEPTION 'row 13 stays' USING ERRCODE = 'check_violation';
	END IF;
	RETURN OLD;
END $$;
CREATE TRIGGER refuse_purge BEFORE DELETE ON jobs_test.t6 FOR EACH ROW EXECUTE FUNCTION jobs_test.refuse_purge();
-- and a table that refuses every DELETE, holding none of their rows: it
-- keeps no one from being purged
CREATE TABLE jobs_test.t7 (owner kalam.user_id, v int) USING kalamdb;
SELECT kalam.register_table('jobs_test.t7', 'user');
CREATE FUNCTION jobs_test.refuse_deletes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'no deletes here';
END $$;
CREATE TRIGGER refuse_deletes BEFORE DELETE ON jobs_test.t7 FOR EACH STATEMENT EXECUTE FUNCTION jobs_test.refuse_deletes();
INSERT INTO jobs_test.t7 VALUES (:'active', 1);
SELECT kalam.create_user('stuck', 'stuck-secret-123') AS stuck \gset
SELECT kalam.create_user('expired3', 'expired3-secret') AS expired3 \gset
INSERT INTO jobs_test.t6 VALUES (:'stuck', 13), (:'expired3', 14);
SELECT kalam.drop_user(u) FROM unnest(ARRAY['stuck', 'expired3']::kalam.user_name[]) u;
UPDATE system.users SET deleted_at = now() - interval '31 days' WHERE username IN ('stuck', 'expired3');
SELECT kalam.submit_job('user_cleanup', '{}', NULL, 0) AS j13 \gset
SELECT is(pg_temp.wait_for_job(:'j13', '{completed,failed}'), 'failed',
		  'a user cleanup that cannot purge one of its users fails');
SELECT matches((SELECT message FROM system.jobs WHERE job_id = :'j13'),
			   format('^purged 1 users and 1 rows; 1 users failed, the last: %s: row 13 stays$', :'stuck'),
			   'after purging the others, saying which one it could not');
SELECT is((SELECT string_agg(username::text, ',') FROM system.users WHERE username IN ('stuck', 'expired3')),
		  'stuck', 'that user stays, soft-deleted, for the next run');

-- job retention
INSERT INTO system.jobs (job_id, job_type, status, created_at, finished_at) VALUES
	(kalam.new_job_id('flush'), 'flush', 'completed', now() - interval '40 days', now() - interval '31 days'),
	(kalam.new_job_id('flush'), 'flush', 'failed', now() - interval '100 days', now() - interval '91 days'),
	('FL-00000000000a', 'flush', 'completed', now() - interval '2 days', now() - interval '1 day'),
	('FL-00000000000b', 'flush', 'failed', now() - interval '40 days', now() - interval '31 days');
SELECT kalam.submit_job('job_cleanup') AS j6 \gset
SELECT is(pg_temp.wait_for_job(:'j6', '{completed,failed}'), 'completed', 'job retention completes');
SELECT is((SELECT count(*) FROM system.jobs WHERE job_type = 'flush' AND finished_at < now() - interval '30 days'
		   AND (status = 'completed' OR finished_at < now() - interval '90 days')), 0::bigint,
		  'completed jobs older than 30 days and failed ones older than 90 are gone');
SELECT is((SELECT count(*) FROM system.jobs WHERE job_id IN ('FL-00000000000a', 'FL-00000000000b')), 2::bigint,
		  'younger ones stay');

-- STREAM eviction
CREATE TABLE jobs_test.typing (owner kalam.user_id, at timestamptz, what text) USING kalamdb;
SELECT kalam.register_table('jobs_test.typing', 'stream', ttl => '1 hour');
INSERT INTO jobs_test.typing VALUES (:'active', now() - interval '2 hours', 'old'), (:'active', now() - interval '61 minutes', 'old'),
	(:'active', now() - interval '5 minutes', 'new'), (:'recent', now(), 'new');
ALTER TABLE jobs_test.typing RENAME COLUMN at TO typed_at;
SELECT kalam.submit_job('stream_eviction') AS j7 \gset
SELECT is(pg_temp.wait_for_job(:'j7', '{completed,failed}'), 'completed', 'stream eviction completes');
SELECT is((SELECT string_agg(what, ',') FROM jobs_test.typing), 'new,new',
		  'rows past the TTL are removed, the others stay (its time column renamed since registering)');
-- only the registered table's rows: not those of a table inheriting from
-- it (refused by an event trigger, unless event triggers were off)
SET session_replication_role = replica;
CREATE TABLE jobs_test.typing_archive (note text) INHERITS (jobs_test.typing);
RESET session_replication_role;
INSERT INTO jobs_test.typing_archive VALUES (:'active', now() - interval '1 year', 'archived', 'kept');
SELECT kalam.submit_job('stream_eviction') AS j7b \gset
SELECT is(pg_temp.wait_for_job(:'j7b', '{completed,failed}'), 'completed', 'stream eviction completes again');
SELECT is((SELECT count(*) FROM jobs_test.typing_archive), 1::bigint,
		  'a table inheriting from a stream table keeps its rows');
DROP TABLE jobs_test.typing_archive;
-- a user is purged only if still expired when its turn comes: the job
-- that listed it may have waited (restored and dropped again since, or
-- given a role above the job's max_role)
SELECT kalam.create_user('late_drop', 'late-drop-secret-1') AS late \gset
SELECT kalam.drop_user('late_drop');
SELECT is(kalam._job_purge_user(:'late', '30 days', 'system'), NULL, 'a user dropped a moment ago is not purged');
UPDATE system.users SET deleted_at = now() - interval '40 days', role = 'system' WHERE user_id = :'late';
SELECT is(kalam._job_purge_user(:'late', '30 days', 'dba'), NULL, 'nor one above the job''s max_role');
SELECT is(kalam._job_purge_user(:'late', '30 days', 'system'), 0::bigint, 'but one expired is');
-- a user whose rows a table's trigger quietly keeps (RETURN NULL) is not
-- purged: the rows would be left to no one
CREATE TABLE jobs_test.kept (owner kalam.user_id, what text) USING kalamdb;
SELECT kalam.register_table('jobs_test.kept', 'user');
CREATE FUNCTION jobs_test.keep_rows() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NULL; END $$;
CREATE TRIGGER keep_rows BEFORE DELETE ON jobs_test.kept FOR EACH ROW EXECUTE FUNCTION jobs_test.keep_rows();
SELECT kalam.create_user('kept_rows', 'kept-rows-secret-1') AS kept \gset
INSERT INTO jobs_test.kept VALUES (:'kept', 'mine');
SELECT kalam.drop_user('kept_rows');
UPDATE system.users SET deleted_at = now() - interval '40 days' WHERE user_id = :'kept';
SELECT throws_ok(format('SELECT kalam._job_purge_user(%L, ''30 days'', ''system'')', :'kept'), '27000',
				 format('rows of user %s remain in jobs_test.kept after their deletion', :'kept'),
				 'a user whose rows a trigger keeps is not purged');
SELECT is((SELECT count(*) FROM system.users WHERE user_id = :'kept'), 1::bigint, 'the user stays');
DROP TABLE jobs_test.kept;
DROP FUNCTION jobs_test.keep_rows();
SELECT is(kalam._job_purge_user(:'kept', '30 days', 'system'), 0::bigint, 'and goes once the rows can go');
-- a scheduled job dated later than now (restored from a server whose
-- clock was ahead) does not hold up the schedule until then
INSERT INTO system.jobs (job_id, job_type, idempotency_key, status, created_at, finished_at) VALUES
	(kalam.new_job_id('job_cleanup'), 'job_cleanup', 'schedule:job_cleanup', 'completed',
	 now() + interval '1 day', now() + interval '1 day')
RETURNING job_id AS tomorrow \gset
SELECT pg_sleep(1.1);
SELECT is(kalam._job_schedule('{"job_cleanup": 1}'), 1, 'a scheduled job dated tomorrow does not hold up the schedule');
DELETE FROM system.jobs WHERE job_id = :'tomorrow';
-- a table restored without its registration (pg_restore -n: system.tables
-- is the extension's data) can be registered again: what registering gave
-- it is made anew
CREATE TABLE jobs_test.restored (owner kalam.user_id, at timestamptz) USING kalamdb;
SELECT kalam.register_table('jobs_test.restored', 'stream', ttl => '1 minute');
DELETE FROM system.tables WHERE relation = 'jobs_test.restored'::regclass;
CREATE POLICY kalam_keep_mine ON jobs_test.restored AS RESTRICTIVE USING (at IS NOT NULL);
SELECT lives_ok($$SELECT kalam.register_table('jobs_test.restored', 'stream', ttl => '1 minute')$$,
				'a table with the policies and triggers of a lost registration registers again');
SELECT is((SELECT string_agg(polname, ',' ORDER BY polname) FROM pg_policy WHERE polrelid = 'jobs_test.restored'::regclass),
		  'kalam_keep_mine,kalam_owner', 'keeping a restrictive policy of its own, whatever its name');
SELECT is((SELECT count(*) FROM pg_trigger WHERE tgrelid = 'jobs_test.restored'::regclass AND tgname LIKE 'kalam\_%'),
		  3::bigint, 'with its three triggers once each');
DROP TABLE jobs_test.restored;
-- a TTL reaching before the first representable time evicts nothing
CREATE TABLE jobs_test.forever (owner kalam.user_id, at timestamptz) USING kalamdb;
SELECT kalam.register_table('jobs_test.forever', 'stream', ttl => '10000 years');
INSERT INTO jobs_test.forever VALUES (:'active', now() - interval '1 day'), (:'active', now());
SELECT is(kalam._job_evict_stream(t), 0::bigint, 'a TTL of 10000 years evicts nothing, and does not fail')
FROM system.tables t WHERE relation = 'jobs_test.forever'::regclass;
DROP TABLE jobs_test.forever;

-- a job runs a table owner's code (here a trigger) as that owner, in a
-- security-restricted operation: the worker's superuser rights do not make
-- the owner a kalam administrator there
CREATE TABLE jobs_test.evicted (owner kalam.user_id, at timestamptz, what text) USING kalamdb;
SELECT kalam.register_table('jobs_test.evicted', 'stream', ttl => '1 hour');
CREATE TABLE jobs_test.escalation (outcome text);
CREATE FUNCTION jobs_test.try_escalate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	BEGIN
		PERFORM kalam.create_user('mallory', 'mallory-secret-1', 'system');
		INSERT INTO jobs_test.escalation VALUES ('created a system user');
	EXCEPTION WHEN insufficient_privilege THEN
		INSERT INTO jobs_test.escalation VALUES (SQLSTATE);
	END;
	BEGIN
		PERFORM kalam.unregister_table('jobs_test.t2');
		INSERT INTO jobs_test.escalation VALUES ('unregistered another owner''s table');
	EXCEPTION WHEN insufficient_privilege THEN
		INSERT INTO jobs_test.escalation VALUES (SQLSTATE);
	END;
	RETURN OLD;
END $$;
CREATE TRIGGER try_escalate AFTER DELETE ON jobs_test.evicted FOR EACH ROW EXECUTE FUNCTION jobs_test.try_escalate();
ALTER TABLE jobs_test.evicted OWNER TO kalam_jobs_owner;
ALTER TABLE jobs_test.escalation OWNER TO kalam_jobs_owner;
INSERT INTO jobs_test.evicted VALUES (:'active', now() - interval '2 hours', 'old');
SELECT kalam.submit_job('stream_eviction') AS j12 \gset
SELECT is(pg_temp.wait_for_job(:'j12', '{completed,failed}'), 'completed', 'stream eviction runs the table owner''s trigger');
SELECT is((SELECT string_agg(outcome, ',' ORDER BY outcome) FROM jobs_test.escalation), '42501,42501',
		  'which may neither create a system user nor unregister a table it does not own');

-- stale live query removal: a subscription whose session is gone goes, one
-- of a live session stays (the connection part of the id names the session)
SELECT table_id AS typing_id FROM system.tables WHERE relation = 'jobs_test.typing'::regclass \gset
SELECT pg_backend_pid() || '-' || to_hex(((extract(epoch FROM backend_start) - 946684800) * 1000000)::bigint) AS me
FROM pg_stat_activity WHERE pid = pg_backend_pid() \gset
INSERT INTO system.live_queries (live_id, user_id, table_id, query, channel, backend_pid) VALUES
	(kalam.live_query_id(:'active', '4194304-1', 'gone'), :'active', :'typing_id', 'SELECT * FROM jobs_test.typing', 'gone', 4194304),
	(kalam.live_query_id(:'active', :'me', 'here'), :'active', :'typing_id', 'SELECT * FROM jobs_test.typing', 'here', pg_backend_pid());
SELECT kalam.submit_job('live_query_cleanup') AS j11 \gset
SELECT is(pg_temp.wait_for_job(:'j11', '{completed,failed}'), 'completed', 'stale live query removal completes');
SELECT is((SELECT string_agg(channel, ',') FROM system.live_queries WHERE table_id = :'typing_id'), 'here',
		  'the subscription of a session that is gone is removed, that of a live one stays');
DELETE FROM system.live_queries WHERE table_id = :'typing_id';

-- compaction: of the table named, or of every registered kalamdb table.
-- The index expression insists on running as the table's owner, not as
-- the superuser worker.  Owner alpha's first 5 rows share a page with
-- beta's, its next 90 fill pages of its own: the 5 move.
CREATE FUNCTION jobs_test.as_owner(v int) RETURNS int LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
	IF current_user <> 'kalam_jobs_owner' THEN
		RAISE EXCEPTION 'index expression run as %', current_user;
	END IF;
	RETURN v;
END $$;
CREATE TABLE jobs_test.scattered (owner kalam.user_id NOT NULL, n int NOT NULL, body text NOT NULL) USING kalamdb;
INSERT INTO jobs_test.scattered SELECT 'alpha', i, repeat('a', 150) FROM generate_series(1, 5) i;
INSERT INTO jobs_test.scattered SELECT 'beta', 100 + i, repeat('b', 150) FROM generate_series(1, 5) i;
INSERT INTO jobs_test.scattered SELECT 'alpha', 10 + i, repeat('a', 150) FROM generate_series(1, 90) i;
SELECT kalam.register_table('jobs_test.scattered', 'user');
ALTER TABLE jobs_test.scattered OWNER TO kalam_jobs_owner;
CREATE INDEX scattered_n ON jobs_test.scattered (jobs_test.as_owner(n));
SELECT kalam.submit_job('compact', '{"table": "jobs_test.scattered"}') AS j8 \gset
SELECT is(pg_temp.wait_for_job(:'j8', '{completed,failed}'), 'completed', 'a compact job completes');
SELECT is((SELECT message FROM system.jobs WHERE job_id = :'j8'), 'moved 5 rows in 1 tables',
		  'it moved the 5 rows of the shared page, running the index expression as the table''s owner');
SELECT is((SELECT count(DISTINCT (ctid::text::point)[0]) FROM jobs_test.scattered WHERE owner = 'alpha'), 3::bigint,
		  'the owner is on the 3 pages its rows need');
SELECT kalam.submit_job('compact', '{"table": "jobs_test.purge_seen"}', NULL, 0) AS j10 \gset
SELECT is(pg_temp.wait_for_job(:'j10', '{completed,failed}'), 'failed', 'a compact job refuses a table that is not a registered USER or STREAM table');
SELECT matches((SELECT exception_trace FROM system.jobs WHERE job_id = :'j10'), '^ERROR 42809: jobs_test.purge_seen is not a registered USER or STREAM table',
			   'saying so (the worker is a superuser, its submitter need not be)');
SELECT kalam.submit_job('compact', '{"table": null}') AS j9 \gset
SELECT is(pg_temp.wait_for_job(:'j9', '{completed,failed}'), 'completed', 'so does one without a table');
SELECT matches((SELECT message FROM system.jobs WHERE job_id = :'j9'),
			   format('^moved \d+ rows in %s tables$',
					  (SELECT count(*) FROM system.tables t JOIN pg_class c ON c.oid = t.relation
					   JOIN pg_am a ON a.oid = c.relam WHERE a.amname = 'kalamdb' AND t.owner_column IS NOT NULL)),
			   'without a table (or a null one), every registered USER and STREAM table stored by kalamdb is compacted');

-- scheduled jobs: the worker submits them with idempotency keys
SELECT ok((SELECT count(DISTINCT job_type) FROM system.jobs WHERE idempotency_key LIKE 'schedule:%') = 4,
		  'user cleanup, job retention, stream eviction and stale live query removal are scheduled');

-- compaction on a schedule: kalam.compact_interval, 0 (never) by default
CREATE TABLE jobs_test.scattered_again (owner kalam.user_id NOT NULL, n int NOT NULL, body text NOT NULL) USING kalamdb;
INSERT INTO jobs_test.scattered_again SELECT 'alpha', i, repeat('a', 150) FROM generate_series(1, 5) i;
INSERT INTO jobs_test.scattered_again SELECT 'beta', 100 + i, repeat('b', 150) FROM generate_series(1, 5) i;
INSERT INTO jobs_test.scattered_again SELECT 'alpha', 10 + i, repeat('a', 150) FROM generate_series(1, 90) i;
SELECT kalam.register_table('jobs_test.scattered_again', 'user');
SELECT ok(NOT EXISTS (SELECT 1 FROM system.jobs WHERE idempotency_key = 'schedule:compact'),
		  'no compact job is scheduled by default');
ALTER SYSTEM SET kalam.compact_interval = '1h';
SELECT pg_reload_conf();
SELECT ok(pg_temp.eventually($$EXISTS (SELECT 1 FROM system.jobs WHERE idempotency_key = 'schedule:compact'
										AND status = 'completed')$$),
		  'with kalam.compact_interval set, the worker schedules a compact job');
SELECT is((SELECT count(DISTINCT (ctid::text::point)[0]) FROM jobs_test.scattered_again WHERE owner = 'alpha'), 3::bigint,
		  'which compacts every kalamdb USER and STREAM table');
ALTER SYSTEM RESET kalam.compact_interval;
SELECT pg_reload_conf();

SELECT * FROM finish();

DROP TABLE jobs_test.t1, jobs_test.t2, jobs_test.t3, jobs_test.t4, jobs_test.t6, jobs_test.t7, jobs_test.typing, jobs_test.evicted, jobs_test.escalation, jobs_test.purge_seen, jobs_test.scattered,
	jobs_test.scattered_again;
DROP FUNCTION jobs_test.note_purge(), jobs_test.as_owner(int), jobs_test.try_escalate(), jobs_test.refuse_purge(),
	jobs_test.refuse_deletes();
DROP ROLE kalam_jobs_owner;
SELECT kalam.drop_namespace('jobs_test');
DELETE FROM system.users WHERE user_id <> 'root';
TRUNCATE system.audit_log;
DELETE FROM system.jobs;
