
-- ---------------------------------------------------------------------
-- Live queries: kalam.subscribe() records a subscription and LISTENs on
-- its channel; the change trigger of every registered table NOTIFYs the
-- subscriptions of the changed row's owner (src/live/).
-- ---------------------------------------------------------------------

CREATE INDEX live_queries_table_idx ON system.live_queries (table_id);

CREATE FUNCTION kalam.subscribe(query text, options jsonb DEFAULT NULL,
								OUT live_id kalam.live_query_id, OUT channel text)
	RETURNS record
	AS 'MODULE_PATHNAME', 'kalam_subscribe'
	LANGUAGE C VOLATILE SECURITY DEFINER PARALLEL UNSAFE
	SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION kalam.subscribe(text, jsonb) IS
	'watch a registered table: SELECT columns|* FROM namespace.table [WHERE ...]; LISTEN on the returned channel';

CREATE FUNCTION kalam.unsubscribe(live_id kalam.live_query_id) RETURNS void
	AS 'MODULE_PATHNAME', 'kalam_unsubscribe'
	LANGUAGE C VOLATILE STRICT SECURITY DEFINER PARALLEL UNSAFE
	SET search_path = pg_catalog, pg_temp;

CREATE FUNCTION kalam._live_query_trigger() RETURNS trigger
	AS 'MODULE_PATHNAME', 'kalam_live_query_trigger'
	LANGUAGE C;

-- A registered table's id changed without an invalidation of its own (its
-- schema renamed: see kalam._follow_alters())
CREATE FUNCTION kalam._live_table_renamed(regclass) RETURNS void
	AS 'MODULE_PATHNAME', 'kalam_live_table_renamed'
	LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
REVOKE ALL ON FUNCTION kalam._live_table_renamed(regclass) FROM PUBLIC;

CREATE FUNCTION kalam._live_routes_rebuild() RETURNS bigint
	AS 'MODULE_PATHNAME', 'kalam_live_routes_rebuild'
	LANGUAGE C VOLATILE PARALLEL UNSAFE;
CREATE FUNCTION kalam._live_user_routes_at_commit(text, integer) RETURNS void
	AS 'MODULE_PATHNAME', 'kalam_live_user_routes_at_commit'
	LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;

-- Stale subscriptions: their session is gone (the connection part of the
-- live id is the backend's pid and start time).
CREATE FUNCTION kalam._job_cleanup_live_queries() RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	n bigint;
BEGIN
	DELETE FROM system.live_queries q
	WHERE NOT EXISTS (
		SELECT 1 FROM pg_stat_activity a
		WHERE a.pid = q.backend_pid
		  AND kalam.connection_of(q.live_id) =
			  a.pid || '-' || to_hex(((extract(epoch FROM a.backend_start) - 946684800) * 1000000)::bigint));
	GET DIAGNOSTICS n = ROW_COUNT;
	PERFORM kalam._live_routes_rebuild();
	RETURN n;
END $$;

-- Scheduled jobs: one active job per type, submitted when the last one is
-- older than its interval (seconds; 0 = never).  Then queue the new jobs.
CREATE FUNCTION kalam._job_schedule(intervals jsonb) RETURNS integer
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	t text;
	secs integer;
	n integer := 0;
BEGIN
	FOR t, secs IN SELECT key, value::integer FROM jsonb_each_text(intervals) LOOP
		CONTINUE WHEN secs <= 0;
		CONTINUE WHEN EXISTS (SELECT 1 FROM system.jobs
							  WHERE idempotency_key = 'schedule:' || t
								AND created_at > now() - make_interval(secs => secs)
								-- (one dated later than now, restored from a server
								-- whose clock was ahead, would hold it up until then)
								AND created_at <= now());
		INSERT INTO system.jobs (job_id, job_type, idempotency_key, max_retries)
		VALUES (kalam.new_job_id(t::kalam.job_type), t::kalam.job_type, 'schedule:' || t, 0)
		ON CONFLICT (idempotency_key) WHERE status IN ('new', 'queued', 'running', 'retrying')
		DO NOTHING;
		n := n + 1;
	END LOOP;
	-- a job another session holds (kalam.cancel_job() in an open
	-- transaction) is queued next time, not waited for
	UPDATE system.jobs SET status = 'queued', updated_at = now()
	WHERE job_id IN (SELECT job_id FROM system.jobs WHERE status = 'new' FOR UPDATE SKIP LOCKED);
	RETURN n;
END $$;

REVOKE ALL ON FUNCTION kalam._live_routes_rebuild(), kalam._live_user_routes_at_commit(text, integer), kalam._job_cleanup_live_queries(),
	kalam._job_schedule(jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION kalam.subscribe(text, jsonb), kalam.unsubscribe(kalam.live_query_id) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION kalam.subscribe(text, jsonb), kalam.unsubscribe(kalam.live_query_id) TO PUBLIC;

-- Once CREATE EXTENSION commits, the launcher starts this database's worker.
CREATE FUNCTION kalam._start_worker() RETURNS void
	AS 'MODULE_PATHNAME', 'kalam_start_worker'
	LANGUAGE C VOLATILE PARALLEL UNSAFE;
REVOKE ALL ON FUNCTION kalam._start_worker() FROM PUBLIC;
SELECT kalam._start_worker();

-- The subscriptions a change to (relation, owner) must be offered to
-- (owner '' for a shared table), for the change trigger, which calls it as
-- the extension owner (it returns the secret channels: not for PUBLIC).
-- Subscriptions of users dropped since, whose role no longer reaches a
-- shared table's access level, or whose database role may no longer read
-- the table (or use its schema), are skipped.
CREATE FUNCTION kalam._live_subscriptions(relation oid, owner text)
RETURNS TABLE (live_id text, channel text, table_id text, where_plan text, columns text)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
	SELECT q.live_id::text, q.channel, q.table_id::text, q.options->'plan'->>'where',
		   (SELECT string_agg(c, E'\x1f' ORDER BY n)
			FROM jsonb_array_elements_text(q.options->'plan'->'columns') WITH ORDINALITY AS a(c, n))
	FROM system.live_queries q
	JOIN system.tables t ON t.table_id = q.table_id
	JOIN system.users u ON u.user_id = q.user_id AND u.deleted_at IS NULL
	WHERE t.relation = _live_subscriptions.relation::regclass
	  AND (_live_subscriptions.owner = '' OR q.user_id = _live_subscriptions.owner::kalam.user_id)
	  -- a shared table's access level, checked against the user's role now
	  AND (t.table_type <> 'shared' OR t.access_level = 'public'
		   OR kalam._role_level(u.role) >= CASE t.access_level WHEN 'private' THEN 1 ELSE 2 END)
	  -- the subscriber's database role may still read the table (REVOKE)
	  AND has_table_privilege((q.options->'plan'->>'role')::oid, t.relation::oid, 'SELECT')
	  AND has_schema_privilege((q.options->'plan'->>'role')::oid,
							   (SELECT c.relnamespace FROM pg_class c WHERE c.oid = t.relation), 'USAGE')
$$;

-- This session's connection id (pid and start time), as in its live ids.
CREATE FUNCTION kalam._live_connection_id() RETURNS text
	AS 'MODULE_PATHNAME', 'kalam_live_connection_id'
	LANGUAGE C STABLE PARALLEL RESTRICTED;

-- Remove this session's subscriptions (at its end, or when its effective
-- user changes), but for keep_user's (NULL: all); returns their routes
-- for the caller to release.  Called only by the extension's C code, as
-- the catalog's owner.
CREATE FUNCTION kalam._live_forget_own_session(keep_user text DEFAULT NULL)
RETURNS TABLE (relation oid, owner text, channel text)
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp AS $$
	WITH gone AS (
		DELETE FROM system.live_queries q
		WHERE kalam.connection_of(q.live_id) = kalam._live_connection_id()
		  AND q.user_id::text IS DISTINCT FROM keep_user
		RETURNING q.table_id, q.user_id, q.channel)
	SELECT t.relation::oid, CASE WHEN t.table_type = 'shared' THEN '' ELSE g.user_id::text END, g.channel
	FROM gone g JOIN system.tables t ON t.table_id = g.table_id
$$;

-- The channels of this session's subscriptions, but for keep_user's: for
-- a read-only transaction, which cannot remove them, to stop listening.
-- As secret as the channels: called only by the C code, as above.
CREATE FUNCTION kalam._live_own_session_channels(keep_user text DEFAULT NULL)
RETURNS TABLE (channel text)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp AS $$
	SELECT q.channel FROM system.live_queries q
	WHERE kalam.connection_of(q.live_id) = kalam._live_connection_id()
	  AND q.user_id::text IS DISTINCT FROM keep_user
$$;

-- Drop this session's subscriptions and stop listening to their channels.
CREATE FUNCTION kalam._live_end_session_subscriptions() RETURNS void
	AS 'MODULE_PATHNAME', 'kalam_live_end_session_subscriptions'
	LANGUAGE C VOLATILE PARALLEL UNSAFE;

REVOKE ALL ON FUNCTION kalam._live_subscriptions(oid, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION kalam._live_forget_own_session(text), kalam._live_own_session_channels(text) FROM PUBLIC;
