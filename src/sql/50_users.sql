
-- ---------------------------------------------------------------------
-- Users, logins, the effective user, namespaces.
--
-- Every function that touches the catalog is SECURITY DEFINER with
-- search_path = pg_catalog, pg_temp, EXECUTE revoked from PUBLIC and then
-- granted back explicitly where every role may call it (the function does
-- its own permission check).  "The caller" is the role that called into
-- the extension (kalam._caller_is_superuser()) together with the session's
-- effective kalam user (kalam.current_user_id()).
-- ---------------------------------------------------------------------

-- The effective user's role, or NULL (no user, or a deleted one).
CREATE FUNCTION kalam.current_user_role() RETURNS kalam.role
LANGUAGE sql STABLE SECURITY DEFINER PARALLEL SAFE
SET search_path = pg_catalog, pg_temp AS $$
	SELECT role FROM system.users
	WHERE user_id = kalam.current_user_id() AND deleted_at IS NULL
$$;

-- Power of a role: user 0, service 1, dba 2, system 3.
CREATE FUNCTION kalam._role_level(kalam.role) RETURNS integer
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp AS $$
	SELECT CASE $1 WHEN 'user' THEN 0 WHEN 'service' THEN 1 WHEN 'dba' THEN 2 WHEN 'system' THEN 3 END
$$;

-- Power of the caller: a PostgreSQL superuser is above every role; no
-- effective user is -1.
CREATE FUNCTION kalam._caller_level() RETURNS integer
LANGUAGE sql STABLE SECURITY DEFINER PARALLEL SAFE
SET search_path = pg_catalog, pg_temp AS $$
	SELECT CASE WHEN kalam._caller_is_superuser() THEN 100
				ELSE coalesce(kalam._role_level(kalam.current_user_role()), -1) END
$$;

CREATE FUNCTION kalam._require_user_manager() RETURNS integer
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	level integer := kalam._caller_level();
BEGIN
	IF level < 2 THEN
		RAISE EXCEPTION 'permission denied to manage users'
			USING ERRCODE = 'insufficient_privilege',
				  HINT = 'Only users with role dba or system, and PostgreSQL superusers, may manage users.';
	END IF;
	RETURN level;
END $$;

-- The server log's copy of an audit entry (src/auth/audit_server_log.c),
-- kalam.log_audit permitting: the entry as stored, as JSON (every value
-- quoted), but for an e-mail address and an unknown user's name in a
-- failed login, which stay out of the server log.
CREATE FUNCTION kalam._log_audit(entry text) RETURNS void
	AS 'MODULE_PATHNAME', 'kalam_log_audit'
	LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE;
CREATE FUNCTION kalam._log_audit_entry(entry system.audit_log) RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	IF current_setting('kalam.log_audit')::boolean THEN
		-- (a failed login's name of no user may be a password typed there)
		IF entry.action = 'login.failure' AND entry.target_user_id IS NULL THEN
			entry.target_name := NULL;
		END IF;
		PERFORM kalam._log_audit(jsonb_set(to_jsonb(entry), '{details}',
										   coalesce(entry.details - 'email', 'null'))::text);
	END IF;
END $$;
REVOKE ALL ON FUNCTION kalam._log_audit(text), kalam._log_audit_entry(system.audit_log) FROM PUBLIC;

-- An audit log entry, in the server log too (kalam._log_audit_entry()),
-- where a rollback does not take it back: every entry is written here
CREATE FUNCTION kalam._write_audit(action text, actor_user_id kalam.user_id, actor_role text,
								   target_user_id kalam.user_id, target_name text,
								   client_addr text, details jsonb) RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	entry system.audit_log;
BEGIN
	INSERT INTO system.audit_log (action, actor_user_id, actor_role, target_user_id,
								  target_name, client_addr, details)
	VALUES ($1, $2, $3, $4, $5, $6, $7)
	RETURNING * INTO entry;
	PERFORM kalam._log_audit_entry(entry);
END $$;
REVOKE ALL ON FUNCTION kalam._write_audit(text, kalam.user_id, text, kalam.user_id, text, text, jsonb)
	FROM PUBLIC;

-- An entry of the session's.  The actor is the session's effective user,
-- but for a successful login: the user the session had before is not who
-- logs in (on a pooled connection, it is the previous client's, whose id
-- the new user would read in their own login's entry).
CREATE FUNCTION kalam._audit(action text, target_user_id kalam.user_id, target_name text,
							 details jsonb DEFAULT NULL) RETURNS void
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
	SELECT kalam._write_audit($1, CASE WHEN $1 <> 'login.success' THEN kalam.current_user_id() END,
							  kalam._caller_role_name(), $2, $3, host(inet_client_addr()), $4)
$$;

-- The user a manager may act on: it exists, and its role is not above the
-- caller's.
CREATE FUNCTION kalam._managed_user(username kalam.user_name, caller_level integer)
RETURNS system.users
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	u system.users;
BEGIN
	SELECT * INTO u FROM system.users WHERE users.username = _managed_user.username FOR UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'user "%" does not exist', username USING ERRCODE = 'undefined_object';
	END IF;
	IF kalam._role_level(u.role) > caller_level THEN
		RAISE EXCEPTION 'permission denied to manage user "%"', username
			USING ERRCODE = 'insufficient_privilege',
				  DETAIL = format('The user has role %s, above your own.', u.role);
	END IF;
	RETURN u;
END $$;

CREATE FUNCTION kalam._check_assignable_role(role kalam.role, caller_level integer) RETURNS void
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	-- (checked here: the NOT NULL violation of the row would show the row,
	-- password hash included, in its detail)
	IF role IS NULL THEN
		RAISE EXCEPTION 'a user''s role cannot be NULL'
			USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF kalam._role_level(role) > caller_level THEN
		RAISE EXCEPTION 'permission denied to give role %', role
			USING ERRCODE = 'insufficient_privilege',
				  HINT = 'Only system users and superusers may give role system.';
	END IF;
END $$;

-- A NULL password would hash to NULL: a user who cannot log in, without
-- saying so (only the bootstrap root is without a password)
CREATE FUNCTION kalam._check_password_given(password text) RETURNS void
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	IF password IS NULL THEN
		RAISE EXCEPTION 'a password cannot be NULL'
			USING ERRCODE = 'null_value_not_allowed';
	END IF;
END $$;

-- (see kalam._is_email)
CREATE FUNCTION kalam._check_email(email text) RETURNS void
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	IF NOT kalam._is_email(email) THEN
		RAISE EXCEPTION 'invalid e-mail address "%"', email
			USING ERRCODE = 'check_violation';
	END IF;
END $$;

CREATE FUNCTION kalam.create_user(username kalam.user_name, password text,
								  role kalam.role DEFAULT 'user', email text DEFAULT NULL)
RETURNS kalam.user_id
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	level integer;
	new_id kalam.user_id := kalam.new_user_id();
BEGIN
	PERFORM kalam._hide_password_statement();
	level := kalam._require_user_manager();
	IF username IS NULL OR role IS NULL THEN
		RAISE EXCEPTION 'the user name and role must not be NULL' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	PERFORM kalam._check_assignable_role(role, level);
	PERFORM kalam._check_email(email);
	PERFORM kalam._check_password_given(password);
	BEGIN
		INSERT INTO system.users (user_id, username, password_hash, role, email)
		VALUES (new_id, username, kalam.hash_password(password), role, email);
	EXCEPTION WHEN unique_violation THEN
		RAISE EXCEPTION 'user name "%" is already taken', username
			USING ERRCODE = 'unique_violation',
				  DETAIL = 'User names are unique regardless of case.';
	END;
	PERFORM kalam._audit('user.create', new_id, username::text,
						 jsonb_build_object('role', role));
	RETURN new_id;
END $$;

CREATE FUNCTION kalam.set_password(username kalam.user_name, password text) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	u system.users;
BEGIN
	PERFORM kalam._hide_password_statement();
	u := kalam._managed_user(username, kalam._require_user_manager());
	PERFORM kalam._check_password_given(password);
	UPDATE system.users
	SET password_hash = kalam.hash_password(password), auth_type = 'password',
		failed_login_attempts = 0, locked_until = NULL, updated_at = now()
	WHERE user_id = u.user_id;
	PERFORM kalam._audit('user.set_password', u.user_id, u.username::text);
END $$;

CREATE FUNCTION kalam.set_role(username kalam.user_name, role kalam.role) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	level integer := kalam._require_user_manager();
	u system.users := kalam._managed_user(username, level);
BEGIN
	PERFORM kalam._check_assignable_role(role, level);
	UPDATE system.users SET role = set_role.role, updated_at = now() WHERE user_id = u.user_id;
	-- writers check anew which of the user's subscriptions may see their rows
	PERFORM kalam._live_user_routes_at_commit(u.user_id::text, 0);
	PERFORM kalam._audit('user.set_role', u.user_id, u.username::text,
						 jsonb_build_object('from', u.role, 'to', role));
END $$;

-- Arguments left NULL are not changed.
CREATE FUNCTION kalam.alter_user(username kalam.user_name, email text DEFAULT NULL,
								 auth_data jsonb DEFAULT NULL,
								 auth_type kalam.auth_type DEFAULT NULL,
								 storage_mode kalam.storage_mode DEFAULT NULL,
								 storage_id kalam.storage_id DEFAULT NULL) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	u system.users := kalam._managed_user(username, kalam._require_user_manager());
BEGIN
	PERFORM kalam._check_email(email);
	UPDATE system.users
	SET email = coalesce(alter_user.email, users.email),
		auth_data = coalesce(alter_user.auth_data, users.auth_data),
		auth_type = coalesce(alter_user.auth_type, users.auth_type),
		storage_mode = coalesce(alter_user.storage_mode, users.storage_mode),
		storage_id = coalesce(alter_user.storage_id, users.storage_id),
		updated_at = now()
	WHERE user_id = u.user_id;
	PERFORM kalam._audit('user.alter', u.user_id, u.username::text,
		jsonb_strip_nulls(jsonb_build_object('email', email, 'auth_type', auth_type,
			'auth_data', CASE WHEN auth_data IS NOT NULL THEN 'changed' END,
			'storage_mode', storage_mode, 'storage_id', storage_id)));
END $$;

-- Soft delete: the user can no longer log in; their rows stay until the
-- cleanup job removes them after the grace period.
CREATE FUNCTION kalam.drop_user(username kalam.user_name) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	u system.users := kalam._managed_user(username, kalam._require_user_manager());
BEGIN
	IF u.user_id = 'root' THEN
		RAISE EXCEPTION 'the bootstrap user root cannot be dropped'
			USING ERRCODE = 'insufficient_privilege';
	END IF;
	IF u.deleted_at IS NOT NULL THEN
		RAISE EXCEPTION 'user "%" is already dropped', username
			USING ERRCODE = 'object_not_in_prerequisite_state';
	END IF;
	UPDATE system.users SET deleted_at = now(), updated_at = now() WHERE user_id = u.user_id;
	-- their live queries end (delivery already skips dropped users); the
	-- rows are locked first, so that an unsubscribe or a session's end
	-- under way does not take a route down a second time for one of them
	PERFORM FROM system.live_queries q WHERE q.user_id = u.user_id FOR UPDATE;
	PERFORM kalam._live_user_routes_at_commit(u.user_id::text, -1);
	DELETE FROM system.live_queries q WHERE q.user_id = u.user_id;
	PERFORM kalam._audit('user.drop', u.user_id, u.username::text);
END $$;

CREATE FUNCTION kalam.restore_user(username kalam.user_name) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	u system.users := kalam._managed_user(username, kalam._require_user_manager());
BEGIN
	IF u.deleted_at IS NULL THEN
		RAISE EXCEPTION 'user "%" is not dropped', username
			USING ERRCODE = 'object_not_in_prerequisite_state';
	END IF;
	UPDATE system.users SET deleted_at = NULL, updated_at = now() WHERE user_id = u.user_id;
	PERFORM kalam._audit('user.restore', u.user_id, u.username::text);
END $$;

CREATE FUNCTION kalam.unlock_user(username kalam.user_name) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	u system.users := kalam._managed_user(username, kalam._require_user_manager());
BEGIN
	UPDATE system.users SET failed_login_attempts = 0, locked_until = NULL
	WHERE user_id = u.user_id;
	PERFORM kalam._audit('user.unlock', u.user_id, u.username::text);
END $$;

-- Authentication.  Unknown user, wrong password, dropped user, locked
-- user (and a user without a password) all take the same path: one
-- bcrypt computation, the failure recorded in its own transaction, and
-- the same error.
CREATE FUNCTION kalam._authenticate(username text, password text, via text)
RETURNS kalam.user_id
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	name kalam.user_name;
	u system.users;
	matches boolean;
	reason text;
	rehashed text;
	under_way integer;
	max_failures integer;
	blocked boolean;
BEGIN
	PERFORM kalam._hide_password_statement();
	-- a standby can record neither a failure nor a success: were the
	-- password checked there, guesses would go uncounted
	IF pg_is_in_recovery() THEN
		RAISE EXCEPTION 'logins are not checked on a standby server'
			USING ERRCODE = 'read_only_sql_transaction',
				  HINT = 'Log in on the primary; a standby session can take the user id it gives with SET kalam.user_id (a role granted SET on that parameter).';
	END IF;
	-- a success records the login: in a read-only transaction it would
	-- fail where a failure does not, telling a right password from a wrong
	-- one unrecorded
	IF current_setting('transaction_read_only')::boolean THEN
		RAISE EXCEPTION 'cannot log in within a read-only transaction'
			USING ERRCODE = 'read_only_sql_transaction';
	END IF;
	BEGIN
		name := username::kalam.user_name;
	EXCEPTION WHEN others THEN
		name := NULL;			-- not a valid user name: an unknown user
	END;
	SELECT * INTO u FROM system.users WHERE users.username = name;
	-- before the password is looked at: this session's last failure is
	-- recorded by now, and the user's logins under way (see
	-- login_failure.c); then the row as it is now (_login_begin refuses a
	-- transaction-wide snapshot).  Failures counted and under way that
	-- reach the limit count as a lock, as does one waiting for the worker.
	under_way := kalam._login_begin(u.user_id::text);
	SELECT * INTO u FROM system.users WHERE users.username = name;
	max_failures := current_setting('kalam.max_failed_logins')::integer;
	blocked := under_way < 0 OR
		(max_failures > 0 AND
		 CASE WHEN u.locked_until <= now() THEN 0	-- a lock run out
			  -- failures counted under a higher limit (or none): the next one locks
			  WHEN u.locked_until IS NULL THEN least(u.failed_login_attempts, max_failures - 1)
			  ELSE u.failed_login_attempts END
		 + under_way >= max_failures);
	matches := kalam.verify_password(password, u.password_hash);
	reason := CASE
		WHEN u.user_id IS NULL THEN 'unknown_user'
		WHEN u.deleted_at IS NOT NULL THEN 'dropped_user'
		WHEN u.locked_until > now() OR blocked THEN 'locked_user'
		WHEN u.password_hash IS NULL THEN 'no_password'
		WHEN u.auth_type <> 'password' THEN 'not_a_password_user'	-- oauth, internal
		WHEN NOT matches THEN 'wrong_password'
		END;
	IF reason IS NOT NULL THEN
		-- (should this very transaction hold the user's row, having logged
		-- the user in a moment ago, the failure is recorded once it ends)
		PERFORM kalam._record_login_failure(username, u.user_id::text, reason, via,
										   host(inet_client_addr()));
		RAISE EXCEPTION 'password authentication failed'
			USING ERRCODE = 'invalid_password';
	END IF;

	PERFORM kalam._login_end();
	-- a hash of an older kalam.bcrypt_cost is renewed while the password
	-- is at hand: this user's logins then cost what an unknown user's do
	rehashed := kalam._rehash_password(password, u.password_hash);
	UPDATE system.users
	SET failed_login_attempts = 0, locked_until = NULL, last_login_at = now(), last_seen = now(),
		password_hash = coalesce(rehashed, users.password_hash)
	WHERE user_id = u.user_id;
	PERFORM kalam._audit('login.success', u.user_id, u.username::text,
						 jsonb_strip_nulls(jsonb_build_object('via', via,
							'rehashed', CASE WHEN rehashed IS NOT NULL THEN true END)));
	RETURN u.user_id;
END $$;
REVOKE ALL ON FUNCTION kalam._authenticate(text, text, text) FROM PUBLIC;

-- Applied by the failure recorder (src/auth/login_failure.c), in a
-- transaction of its own.  Only a wrong password counts towards the lock.
CREATE FUNCTION kalam._apply_login_failure(username text, user_id kalam.user_id, reason text,
										   via text, actor_user_id kalam.user_id,
										   actor_role text, client_addr text,
										   max_failures integer, lockout interval) RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	locked timestamptz;
	timeout text := current_setting('lock_timeout');
BEGIN
	IF reason = 'wrong_password' THEN
		-- The user's row is not waited for (its holder may be a login of
		-- the user in a transaction still open, which the time taken would
		-- tell): a row held fails the recording, which is then queued and
		-- tried again (login_failure.c), each failure counted
		-- no lock on system.users is waited for either: only a known user's
		-- failure takes one, and its time must not tell
		PERFORM set_config('lock_timeout', '1ms', true);
		PERFORM FROM system.users u WHERE u.user_id = _apply_login_failure.user_id FOR NO KEY UPDATE NOWAIT;
		-- a lock that has run out no longer counts: the failures start over
		UPDATE system.users u
		SET failed_login_attempts = f.failures,
			locked_until = CASE WHEN max_failures > 0 AND f.failures >= max_failures THEN now() + lockout
								WHEN u.locked_until <= now() THEN NULL
								ELSE u.locked_until END
		FROM (SELECT CASE WHEN v.locked_until <= now() THEN 0
						  ELSE v.failed_login_attempts END + 1 AS failures
			  FROM system.users v WHERE v.user_id = _apply_login_failure.user_id) f
		WHERE u.user_id = _apply_login_failure.user_id
		RETURNING u.locked_until INTO locked;
		PERFORM set_config('lock_timeout', timeout, true);
	END IF;
	PERFORM kalam._write_audit('login.failure', actor_user_id, actor_role, user_id, username,
							   client_addr,
							   jsonb_strip_nulls(jsonb_build_object('reason', reason, 'via', via,
																	'locked_until', locked)));
END $$;
REVOKE ALL ON FUNCTION kalam._apply_login_failure(text, kalam.user_id, text, text, kalam.user_id, text, text, integer, interval) FROM PUBLIC;

-- Check a user's password (an API server that keeps its own sessions).
CREATE FUNCTION kalam.authenticate(username text, password text) RETURNS kalam.user_id
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
	SELECT kalam._authenticate(username, password, 'authenticate')
$$;

-- A cursor WITH HOLD keeps the rows of the user it was opened for, past
-- the end of its transaction: on a pooled connection, the next client's
-- user would read them.  The effective user changes only once they are
-- closed (CLOSE ALL; DISCARD ALL, as poolers run between clients, does it).
CREATE FUNCTION kalam._refuse_held_cursors() RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	IF EXISTS (SELECT 1 FROM pg_catalog.pg_cursors WHERE is_holdable) THEN
		RAISE EXCEPTION 'cannot change the effective user while cursors WITH HOLD are open'
			USING ERRCODE = 'object_not_in_prerequisite_state',
				  DETAIL = 'A held cursor keeps the rows of the user it was opened for.',
				  HINT = 'Close them first (CLOSE ALL, or DISCARD ALL between clients).';
	END IF;
END $$;

-- Check a user's password and make it the session's effective user.
CREATE FUNCTION kalam.login(username text, password text) RETURNS kalam.user_id
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	id kalam.user_id;
BEGIN
	-- before the password is looked at: a refusal after it would tell a
	-- right password from a wrong one, with no success recorded
	PERFORM kalam._refuse_held_cursors();
	id := kalam._authenticate(username, password, 'login');
	-- subscriptions belong to the effective user they were made for
	IF id IS DISTINCT FROM kalam.current_user_id() THEN
		PERFORM kalam._live_end_session_subscriptions();
	END IF;
	PERFORM kalam._set_effective_user(id, false);
	RETURN id;
END $$;

-- No effective user any more.  Giving up an identity is always allowed.
CREATE FUNCTION kalam.logout() RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	PERFORM kalam._live_end_session_subscriptions();
	PERFORM kalam._set_effective_user(NULL, false);
END $$;

-- Act as another user: system -> anyone, dba -> dba/service/user,
-- service -> service/user, user -> nobody else; a superuser -> anyone.
-- With is_local, only until the end of the transaction.
CREATE FUNCTION kalam.execute_as(user_id kalam.user_id, is_local boolean DEFAULT false)
RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	caller_role kalam.role := kalam.current_user_role();
	level integer := kalam._caller_level();
	target system.users;
	allowed boolean;
BEGIN
	SELECT * INTO target FROM system.users u
	WHERE u.user_id = execute_as.user_id AND u.deleted_at IS NULL;
	allowed := CASE
		WHEN target.user_id IS NULL THEN false
		WHEN level = 100 THEN true
		WHEN target.user_id = kalam.current_user_id() THEN true
		WHEN caller_role = 'system' THEN true
		WHEN caller_role = 'dba' THEN target.role IN ('dba', 'service', 'user')
		WHEN caller_role = 'service' THEN target.role IN ('service', 'user')
		ELSE false END;
	IF NOT allowed THEN
		-- only those who manage users learn whether the user exists
		IF target.user_id IS NULL AND level >= 2 THEN
			RAISE EXCEPTION 'user "%" does not exist', user_id USING ERRCODE = 'undefined_object';
		END IF;
		RAISE EXCEPTION 'permission denied to execute as user "%"', user_id
			USING ERRCODE = 'insufficient_privilege',
				  HINT = 'system may act as anyone, dba as dba, service and user, service as service and user.';
	END IF;
	IF target.user_id IS DISTINCT FROM kalam.current_user_id() THEN
		PERFORM kalam._refuse_held_cursors();
	END IF;
	-- acting as the session's own user is no change of identity, and not
	-- audited (a loop of them would fill the audit log at no cost); making
	-- a transaction's identity the session's is
	IF target.user_id IS DISTINCT FROM kalam.current_user_id() OR
		(kalam._effective_user_is_local() AND NOT coalesce(is_local, false)) THEN
		PERFORM kalam._audit('execute_as', target.user_id, target.username::text,
							 jsonb_build_object('local', is_local));
	END IF;
	IF NOT coalesce(is_local, false) AND target.user_id IS DISTINCT FROM kalam.current_user_id() THEN
		PERFORM kalam._live_end_session_subscriptions();
	END IF;
	PERFORM kalam._set_effective_user(target.user_id, is_local);
END $$;

-- Namespaces: a PostgreSQL schema and its system.namespaces row.
-- Names no namespace may take (create_namespace, a namespace's schema renamed).
CREATE FUNCTION kalam._refuse_reserved_namespace(name kalam.namespace_id) RETURNS void
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	IF name::text IN ('system', 'sys', 'root', 'kalam', 'kalamdb', 'main', 'default', 'sql',
					  'admin', 'internal', 'information_schema', 'pg_catalog', 'public')
	   OR name::text LIKE 'pg\_%' THEN
		RAISE EXCEPTION 'namespace name "%" is reserved', name
			USING ERRCODE = 'reserved_name';
	END IF;
END $$;

CREATE FUNCTION kalam.create_namespace(name kalam.namespace_id, options jsonb DEFAULT NULL)
RETURNS kalam.namespace_id
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	PERFORM kalam._require_user_manager();
	PERFORM kalam._refuse_reserved_namespace(name);
	IF EXISTS (SELECT 1 FROM system.namespaces n WHERE n.namespace_id = name) THEN
		RAISE EXCEPTION 'namespace "%" already exists', name USING ERRCODE = 'duplicate_schema';
	END IF;
	EXECUTE format('CREATE SCHEMA %I', name);
	EXECUTE format('GRANT USAGE ON SCHEMA %I TO PUBLIC', name);
	INSERT INTO system.namespaces (namespace_id, options, created_by)
	VALUES (name, options, kalam.current_user_id());
	PERFORM kalam._audit('namespace.create', NULL, name::text);
	RETURN name;
END $$;

CREATE FUNCTION kalam.drop_namespace(name kalam.namespace_id) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	n integer;
BEGIN
	PERFORM kalam._require_user_manager();
	PERFORM 1 FROM system.namespaces WHERE namespace_id = name FOR UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'namespace "%" does not exist', name USING ERRCODE = 'invalid_schema_name';
	END IF;
	SELECT count(*) INTO n FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace
	WHERE s.nspname = name::text AND c.relkind IN ('r', 'p', 'v', 'm', 'f');
	n := n + (SELECT count(*) FROM system.tables t WHERE t.namespace_id = name);
	IF n > 0 THEN
		RAISE EXCEPTION 'namespace "%" still holds tables', name
			USING ERRCODE = 'dependent_objects_still_exist',
				  HINT = 'Drop its tables first.';
	END IF;
	EXECUTE format('DROP SCHEMA %I', name);
	DELETE FROM system.namespaces WHERE namespace_id = name;
	PERFORM kalam._audit('namespace.drop', NULL, name::text);
END $$;

-- Privileges.  Functions: revoked from PUBLIC, then granted where the
-- function checks permissions itself.
DO $$
DECLARE
	f regprocedure;
BEGIN
	FOR f IN SELECT p.oid FROM pg_proc p
			 WHERE p.pronamespace = 'kalam'::regnamespace AND p.prosecdef
	LOOP
		EXECUTE pg_catalog.format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', f);
	END LOOP;
END $$;
GRANT EXECUTE ON FUNCTION
	kalam.current_user_role(), kalam._caller_level(),
	kalam.create_user(kalam.user_name, text, kalam.role, text),
	kalam.set_password(kalam.user_name, text),
	kalam.set_role(kalam.user_name, kalam.role),
	kalam.alter_user(kalam.user_name, text, jsonb, kalam.auth_type, kalam.storage_mode, kalam.storage_id),
	kalam.drop_user(kalam.user_name), kalam.restore_user(kalam.user_name),
	kalam.unlock_user(kalam.user_name),
	kalam.authenticate(text, text), kalam.login(text, text), kalam.logout(),
	kalam.execute_as(kalam.user_id, boolean),
	kalam.create_namespace(kalam.namespace_id, jsonb), kalam.drop_namespace(kalam.namespace_id)
TO PUBLIC;

-- Tables: everyone reads the catalog, through row-level security where
-- rows are personal; password_hash is for superusers only, and so is a
-- live query's channel: anyone who knows it can LISTEN on it.
GRANT SELECT ON system.storages, system.namespaces, system.tables, system.jobs TO PUBLIC;
GRANT SELECT (user_id, username, role, email, auth_type, auth_data, storage_mode, storage_id,
			  failed_login_attempts, locked_until, last_login_at, last_seen,
			  created_at, updated_at, deleted_at)
	ON system.users TO PUBLIC;
GRANT SELECT (live_id, user_id, table_id, query, options, backend_pid, created_at,
			  last_update, changes)
	ON system.live_queries TO PUBLIC;
GRANT SELECT ON system.audit_log TO PUBLIC;

ALTER TABLE system.users ENABLE ROW LEVEL SECURITY;
CREATE POLICY users_visible ON system.users FOR SELECT
	USING (user_id = kalam.current_user_id() OR (SELECT kalam._caller_level()) >= 2);
ALTER TABLE system.live_queries ENABLE ROW LEVEL SECURITY;
CREATE POLICY live_queries_visible ON system.live_queries FOR SELECT
	USING (user_id = kalam.current_user_id() OR (SELECT kalam._caller_level()) >= 2);
ALTER TABLE system.audit_log ENABLE ROW LEVEL SECURITY;
-- A login is shown to its target, not to the user whose session tried it:
-- a failure's target and reason (unknown user, wrong password, locked,
-- dropped) would tell what the login's error does not, and a success on a
-- pooled connection is the next client's, their id and time.
CREATE POLICY audit_log_visible ON system.audit_log FOR SELECT
	USING ((actor_user_id = kalam.current_user_id() AND action NOT IN ('login.success', 'login.failure'))
		   OR target_user_id = kalam.current_user_id()
		   OR (SELECT kalam._caller_level()) >= 2);
