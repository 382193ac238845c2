
-- ---------------------------------------------------------------------
-- Jobs: kalam.submit_job() enqueues, the background worker (src/jobs/)
-- runs them: new -> queued -> running -> completed / failed, with retries,
-- idempotency keys and cancellation.  The work of each job type is done
-- by the kalam._job_* functions below, called by the worker.
-- ---------------------------------------------------------------------

-- Wake the worker of this database (it also polls).
CREATE FUNCTION kalam._wake_worker() RETURNS void
	AS 'MODULE_PATHNAME', 'kalam_wake_worker'
	LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION kalam.submit_job(job_type kalam.job_type, parameters jsonb DEFAULT '{}',
								 idempotency_key text DEFAULT NULL, max_retries integer DEFAULT 3)
RETURNS kalam.job_id
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	id kalam.job_id := kalam.new_job_id(job_type);
	level integer := kalam._require_user_manager();
	negative boolean;
BEGIN
	IF job_type IS NULL THEN
		RAISE EXCEPTION 'the job type must not be NULL' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	parameters := coalesce(parameters, '{}');
	IF jsonb_typeof(parameters) <> 'object' THEN
		RAISE EXCEPTION 'job parameters must be a JSON object'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF max_retries IS NULL OR max_retries < 0 THEN
		RAISE EXCEPTION 'max_retries must be 0 or more, not %', coalesce(max_retries::text, 'NULL')
			USING ERRCODE = CASE WHEN max_retries IS NULL THEN 'null_value_not_allowed'
								 ELSE 'invalid_parameter_value' END;
	END IF;
	-- a negative age or grace period would remove what has just finished
	-- (or been dropped)
	BEGIN
		negative := EXISTS (SELECT 1 FROM jsonb_each_text(parameters) p
							WHERE p.key IN ('completed_age', 'failed_age', 'grace_period')
							  AND now() - p.value::interval > now());
	EXCEPTION WHEN data_exception THEN
		RAISE EXCEPTION 'job parameters completed_age, failed_age and grace_period must be intervals'
			USING ERRCODE = 'invalid_parameter_value';
	END;
	IF negative THEN
		RAISE EXCEPTION 'job parameters completed_age, failed_age and grace_period must not be negative'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	-- the worker's scheduled runs hold these keys while active: a job
	-- submitted under one would keep the schedule from running
	IF starts_with(idempotency_key, 'schedule:') THEN
		RAISE EXCEPTION 'idempotency keys starting with "schedule:" are reserved for scheduled jobs'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	-- a dba's user cleanup purges no user of a role above dba: a dba may
	-- not drop, restore or purge those (the worker, a superuser, would)
	IF job_type = 'user_cleanup' AND level < kalam._role_level('system') THEN
		parameters := parameters || jsonb_build_object('max_role', kalam.current_user_role());
	END IF;
	BEGIN
		INSERT INTO system.jobs (job_id, job_type, parameters, idempotency_key, max_retries)
		VALUES (id, job_type, parameters, idempotency_key, max_retries);
	EXCEPTION WHEN unique_violation THEN
		RAISE EXCEPTION 'a job with idempotency key "%" is already active', idempotency_key
			USING ERRCODE = 'unique_violation',
				  DETAIL = (SELECT format('Job %s is %s.', j.job_id, j.status) FROM system.jobs j
							WHERE j.idempotency_key = submit_job.idempotency_key
							  AND j.status IN ('new', 'queued', 'running', 'retrying')
							LIMIT 1);
	END;
	PERFORM kalam._wake_worker();
	RETURN id;
END $$;

-- Cancel a job that has not finished: a waiting one is cancelled at once,
-- a running one stops at its next step (user cleanup: the next user).
CREATE FUNCTION kalam.cancel_job(job_id kalam.job_id) RETURNS kalam.job_status
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	s kalam.job_status;
BEGIN
	PERFORM kalam._require_user_manager();
	IF job_id IS NULL THEN
		RAISE EXCEPTION 'the job id must not be NULL' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	UPDATE system.jobs j SET status = 'cancelled', finished_at = now(), updated_at = now(),
		message = coalesce(j.message || '; ', '') || 'cancelled by ' || kalam._caller_role_name()
	WHERE j.job_id = cancel_job.job_id AND j.status IN ('new', 'queued', 'running', 'retrying')
	RETURNING j.status INTO s;
	IF NOT FOUND THEN
		SELECT j.status INTO s FROM system.jobs j WHERE j.job_id = cancel_job.job_id;
		IF NOT FOUND THEN
			RAISE EXCEPTION 'job % does not exist', job_id USING ERRCODE = 'undefined_object';
		END IF;
		RAISE EXCEPTION 'job % is already %', job_id, s
			USING ERRCODE = 'object_not_in_prerequisite_state';
	END IF;
	RETURN s;
END $$;

-- Users soft-deleted longer than the grace period, oldest first, through
-- the partial index on deleted_at; none of a role above max_role.
CREATE FUNCTION kalam._job_expired_users(grace interval, max_users integer, max_role kalam.role)
RETURNS SETOF kalam.user_id
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp AS $$
	SELECT user_id FROM system.users
	WHERE deleted_at IS NOT NULL AND deleted_at < now() - grace
	  AND kalam._role_level(role) <= kalam._role_level(max_role)
	ORDER BY deleted_at LIMIT max_users
$$;

-- Hard-delete one user and their rows in every USER and STREAM table; the
-- worker calls it once per user, each in a transaction of its own.
-- A job's statement on a registered table runs as the table's owner, in
-- a security-restricted operation (src/jobs/owner_statement.c).
CREATE FUNCTION kalam._execute_as_owner(relation regclass, statement text, param text)
RETURNS bigint
	AS 'MODULE_PATHNAME', 'kalam_execute_as_owner'
	LANGUAGE C VOLATILE PARALLEL UNSAFE;

-- A job's statement names a table once the job holds its lock: while the
-- job waits for it, the table may be renamed, and another take its name.
-- False if the table is gone by then.
CREATE FUNCTION kalam._lock_for_job(relation oid) RETURNS boolean
	AS 'MODULE_PATHNAME', 'kalam_lock_for_job'
	LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;

-- NULL (skipped) unless the user is still expired, as the job that listed
-- it counts it (restored, and perhaps dropped again, since; given a role
-- above max_role since).
-- Whether registered table t (not tables inheriting from it) holds rows
-- of user uid, read as the table's owner.
CREATE FUNCTION kalam._holds_rows_of(t system.tables, uid kalam.user_id) RETURNS boolean
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp AS $$
	SELECT kalam._execute_as_owner(t.relation,
		format('SELECT 1 FROM ONLY %s WHERE %I = $1::kalam.user_id LIMIT 1', t.relation, t.owner_column),
		uid::text) > 0
$$;

CREATE FUNCTION kalam._job_purge_user(uid kalam.user_id, grace interval, max_role kalam.role)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	t system.tables;
	n bigint;
	total bigint := 0;
BEGIN
	PERFORM 1 FROM system.users
	WHERE user_id = uid AND deleted_at IS NOT NULL AND deleted_at < now() - grace
	  AND kalam._role_level(role) <= kalam._role_level(max_role)
	FOR UPDATE;
	IF NOT FOUND THEN
		RETURN NULL;
	END IF;
	-- (the owner column as it is now: kalam._follow_alters() keeps it; the
	-- table only, not tables that inherit from it).  Only a table holding
	-- the user's rows is deleted from: a table whose DELETE fails (its
	-- owner's trigger) keeps only its own users from being purged.
	-- Rows left after the DELETE (a trigger that skipped them, a session
	-- still acting as the user that committed more meanwhile) keep the
	-- user: purged, the rows would belong to no one a job could match.
	FOR t IN SELECT * FROM system.tables WHERE table_type IN ('user', 'stream') ORDER BY table_id LOOP
		CONTINUE WHEN NOT kalam._lock_for_job(t.relation);
		CONTINUE WHEN NOT kalam._holds_rows_of(t, uid);
		n := kalam._execute_as_owner(t.relation,
			format('DELETE FROM ONLY %s WHERE %I = $1::kalam.user_id', t.relation, t.owner_column),
			uid::text);
		IF kalam._holds_rows_of(t, uid) THEN
			RAISE EXCEPTION 'rows of user % remain in % after their deletion', uid, t.relation
				USING ERRCODE = 'triggered_data_change_violation',
					  HINT = 'A trigger of the table skips deletions, or a session still acting as the user inserts more.';
		END IF;
		total := total + n;
	END LOOP;
	DELETE FROM system.live_queries WHERE user_id = uid;
	DELETE FROM system.users WHERE user_id = uid;
	PERFORM kalam._write_audit('user.purge', NULL, 'kalamdb worker', uid, NULL, NULL,
							   jsonb_build_object('rows', total));
	RETURN total;
END $$;

-- Job retention: completed jobs after one age, failed and cancelled ones
-- after another.
CREATE FUNCTION kalam._job_cleanup_jobs(completed_age interval, failed_age interval) RETURNS bigint
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp AS $$
	WITH gone AS (
		DELETE FROM system.jobs
		WHERE (status IN ('completed', 'skipped') AND finished_at < now() - completed_age)
		   OR (status IN ('failed', 'cancelled') AND finished_at < now() - failed_age)
		RETURNING 1)
	SELECT count(*) FROM gone
$$;

-- STREAM eviction: rows of the table (not of tables that inherit from it)
-- older than its TTL; NULL if the table is gone.  Rows someone holds
-- (a user's own, in a transaction left open) wait for the next run: they
-- would otherwise hold up the eviction of everyone's.
CREATE FUNCTION kalam._job_evict_stream(t system.tables) RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	IF NOT kalam._lock_for_job(t.relation) THEN
		RETURN NULL;
	END IF;
	-- a TTL reaching before the first representable time: nothing is older
	BEGIN
		PERFORM now() - t.ttl;
	EXCEPTION WHEN datetime_field_overflow THEN
		RETURN 0;
	END;
	RETURN kalam._execute_as_owner(t.relation,
		format('DELETE FROM ONLY %1$s WHERE ctid IN (SELECT ctid FROM ONLY %1$s '
			   'WHERE %2$I < now() - $1::interval FOR UPDATE SKIP LOCKED)', t.relation,
			   t.options->>'time_column'),
		t.ttl::text);
END $$;

-- The tables a compact job works on: the registered USER or STREAM table
-- named (only those: the worker is a superuser, the submitter need not
-- be), or every one stored by kalamdb.
CREATE FUNCTION kalam._job_compact_tables(named text) RETURNS SETOF oid
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	IF named IS NOT NULL AND NOT EXISTS (
			SELECT 1 FROM system.tables
			WHERE relation = named::regclass AND owner_column IS NOT NULL) THEN
		RAISE EXCEPTION '% is not a registered USER or STREAM table', named
			USING ERRCODE = 'wrong_object_type';
	END IF;
	RETURN QUERY
		SELECT t.relation::oid FROM system.tables t
		JOIN pg_class c ON c.oid = t.relation JOIN pg_am a ON a.oid = c.relam
		WHERE a.amname = 'kalamdb' AND t.owner_column IS NOT NULL
		  AND (named IS NULL OR t.relation = named::regclass)
		ORDER BY t.relation::oid;
END $$;

-- Compaction of one table by the worker, waiting at most lock_timeout for
-- its lock; NULL (skipped) if the table is busy, published or gone.
CREATE FUNCTION kalam._job_compact(relation oid, lock_timeout text) RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	PERFORM set_config('lock_timeout', lock_timeout, true);
	IF current_setting('lock_timeout') = '0' THEN
		RAISE EXCEPTION 'a compact job''s lock_timeout must be more than 0'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF NOT EXISTS (SELECT 1 FROM pg_class WHERE oid = relation) THEN
		RETURN NULL;
	END IF;
	RETURN kalam.compact(relation::regclass);
EXCEPTION WHEN lock_not_available OR object_in_use OR feature_not_supported OR undefined_table THEN
	RETURN NULL;
END $$;

REVOKE ALL ON FUNCTION kalam._wake_worker(), kalam._job_expired_users(interval, integer, kalam.role),
	kalam._execute_as_owner(regclass, text, text), kalam._lock_for_job(oid),
	kalam._holds_rows_of(system.tables, kalam.user_id), kalam._job_purge_user(kalam.user_id, interval, kalam.role), kalam._job_cleanup_jobs(interval, interval),
	kalam._job_evict_stream(system.tables), kalam._job_compact_tables(text),
	kalam._job_compact(oid, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION kalam.submit_job(kalam.job_type, jsonb, text, integer),
	kalam.cancel_job(kalam.job_id) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION kalam.submit_job(kalam.job_type, jsonb, text, integer),
	kalam.cancel_job(kalam.job_id) TO PUBLIC;
