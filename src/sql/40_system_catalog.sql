
-- ---------------------------------------------------------------------
-- The system catalog: ordinary tables in schema "system", typed with the
-- kalam keys, dumped by pg_dump (pg_extension_config_dump).
-- ---------------------------------------------------------------------

CREATE SCHEMA system;
GRANT USAGE ON SCHEMA system TO PUBLIC;
COMMENT ON SCHEMA system IS 'kalamdb system catalog';

CREATE TABLE system.storages (
	storage_id		kalam.storage_id PRIMARY KEY,
	storage_name	text NOT NULL,
	description		text,
	storage_type	text NOT NULL DEFAULT 'filesystem'
		CHECK (storage_type IN ('filesystem', 's3', 'gcs', 'azure')),
	base_directory	text NOT NULL DEFAULT '',
	created_at		timestamptz NOT NULL DEFAULT now(),
	updated_at		timestamptz NOT NULL DEFAULT now()
);
INSERT INTO system.storages (storage_id, storage_name, description)
VALUES ('local', 'Local storage', 'The server''s own data directory');

-- The one definition of a valid e-mail address: the users table checks it,
-- and kalam.create_user/alter_user check it first, with an error of their
-- own (the table's would show the whole row, password hash included).
CREATE FUNCTION kalam._is_email(text) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp AS $$
	SELECT $1 ~ '^[^@[:space:]]+@[^@[:space:]]+$'
$$;

CREATE TABLE system.users (
	user_id			kalam.user_id PRIMARY KEY,
	username		kalam.user_name NOT NULL,
	password_hash	text
		CHECK (password_hash ~ '^\$2[aby]\$[0-9]{2}\$[./A-Za-z0-9]{53}$'),
	role			kalam.role NOT NULL DEFAULT 'user',
	email			text CHECK (kalam._is_email(email)),
	auth_type		kalam.auth_type NOT NULL DEFAULT 'password',
	auth_data		jsonb,
	storage_mode	kalam.storage_mode NOT NULL DEFAULT 'table',
	storage_id		kalam.storage_id REFERENCES system.storages ON UPDATE CASCADE,
	failed_login_attempts integer NOT NULL DEFAULT 0 CHECK (failed_login_attempts >= 0),
	locked_until	timestamptz,
	last_login_at	timestamptz,
	last_seen		timestamptz,
	created_at		timestamptz NOT NULL DEFAULT now(),
	updated_at		timestamptz NOT NULL DEFAULT now(),
	deleted_at		timestamptz
);
-- Unique, case-insensitively: kalam.user_name compares that way.
CREATE UNIQUE INDEX users_username_key ON system.users (username);
CREATE INDEX users_role_idx ON system.users (role);
-- "Soft-deleted before a date", "on a given day": one range scan each.
CREATE INDEX users_deleted_at_idx ON system.users (deleted_at) WHERE deleted_at IS NOT NULL;
COMMENT ON TABLE system.users IS 'kalamdb users; password_hash is readable by superusers only';

-- The bootstrap user.  It has no password, so it cannot log in until a
-- superuser sets one with kalam.set_password('root', ...).
INSERT INTO system.users (user_id, username, role, auth_type)
VALUES ('root', 'root', 'system', 'internal');

CREATE TABLE system.namespaces (
	namespace_id	kalam.namespace_id PRIMARY KEY,
	options			jsonb,
	created_at		timestamptz NOT NULL DEFAULT now(),
	created_by		kalam.user_id
);

CREATE TABLE system.tables (
	table_id		kalam.table_id PRIMARY KEY,
	namespace_id	kalam.namespace_id NOT NULL REFERENCES system.namespaces,
	table_name		kalam.table_name NOT NULL,
	table_type		kalam.table_type NOT NULL,
	access_level	kalam.table_access,
	storage_id		kalam.storage_id NOT NULL DEFAULT 'local' REFERENCES system.storages ON UPDATE CASCADE,
	relation		regclass NOT NULL,
	owner_column	name,
	ttl				interval CHECK (ttl > interval '0'),
	options			jsonb,
	created_at		timestamptz NOT NULL DEFAULT now(),
	updated_at		timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT tables_id_matches_name CHECK (table_id = kalam.table_id(namespace_id, table_name)),
	CONSTRAINT tables_access_level_for_shared CHECK ((table_type = 'shared') = (access_level IS NOT NULL)),
	CONSTRAINT tables_ttl_for_stream CHECK ((table_type = 'stream') = (ttl IS NOT NULL)),
	CONSTRAINT tables_owner_column_for_user_and_stream
		CHECK ((table_type IN ('user', 'stream')) = (owner_column IS NOT NULL))
);
CREATE UNIQUE INDEX tables_relation_key ON system.tables (relation);

CREATE TABLE system.jobs (
	job_id			kalam.job_id PRIMARY KEY,
	job_type		kalam.job_type NOT NULL,
	status			kalam.job_status NOT NULL DEFAULT 'new',
	parameters		jsonb NOT NULL DEFAULT '{}',
	message			text,
	exception_trace	text,
	idempotency_key	text,
	retry_count		integer NOT NULL DEFAULT 0 CHECK (retry_count >= 0),
	max_retries		integer NOT NULL DEFAULT 3 CHECK (max_retries >= 0),
	node_id			integer NOT NULL DEFAULT 0,
	created_at		timestamptz NOT NULL DEFAULT now(),
	updated_at		timestamptz NOT NULL DEFAULT now(),
	started_at		timestamptz,
	finished_at		timestamptz,
	CONSTRAINT jobs_id_matches_type CHECK (kalam.job_type_of(job_id) = job_type)
);
-- At most one active job per idempotency key.
CREATE UNIQUE INDEX jobs_active_idempotency_key ON system.jobs (idempotency_key)
	WHERE status IN ('new', 'queued', 'running', 'retrying');
CREATE INDEX jobs_status_idx ON system.jobs (status, created_at);

CREATE TABLE system.live_queries (
	live_id			kalam.live_query_id PRIMARY KEY,
	user_id			kalam.user_id NOT NULL,
	table_id		kalam.table_id NOT NULL REFERENCES system.tables ON DELETE CASCADE ON UPDATE CASCADE,
	query			text NOT NULL,
	options			jsonb,
	channel			text NOT NULL,
	backend_pid		integer NOT NULL,
	created_at		timestamptz NOT NULL DEFAULT now(),
	last_update		timestamptz,
	changes			bigint NOT NULL DEFAULT 0,
	CONSTRAINT live_queries_id_matches_user CHECK (kalam.user_of(live_id) = user_id)
) USING kalamdb;
-- Routing looks up the subscriptions of one owner of one table; the index
-- led by user_id also lets the access method find a user's pages again.
CREATE INDEX live_queries_user_table_idx ON system.live_queries (user_id, table_id);

-- Append-only: see system.refuse_audit_change() below.
CREATE TABLE system.audit_log (
	audit_id		kalam.row_id PRIMARY KEY DEFAULT kalam.new_row_id(),
	occurred_at		timestamptz NOT NULL DEFAULT clock_timestamp(),
	action			text NOT NULL CHECK (action IN (
		'user.create', 'user.alter', 'user.set_password', 'user.set_role',
		'user.drop', 'user.restore', 'user.unlock', 'user.purge',
		'login.success', 'login.failure', 'execute_as',
		'namespace.create', 'namespace.drop', 'namespace.rename')),
	actor_user_id	kalam.user_id,
	actor_role		name NOT NULL DEFAULT session_user,
	target_user_id	kalam.user_id,
	target_name		text,
	client_addr		text,
	details			jsonb
);
CREATE INDEX audit_log_target_idx ON system.audit_log (target_user_id, occurred_at);

-- What pg_dump keeps: everything but the live queries, which belong to
-- sessions of the old server.  The two rows the install script creates
-- (storage "local" and user "root") are dumped too; on restore, the dumped
-- row replaces the fresh one as long as that one is untouched (see
-- system.replace_seeded_row()), so they keep their history and settings.
SELECT pg_catalog.pg_extension_config_dump('system.storages', '');
SELECT pg_catalog.pg_extension_config_dump('system.users', '');
SELECT pg_catalog.pg_extension_config_dump('system.namespaces', '');
SELECT pg_catalog.pg_extension_config_dump('system.tables', '');
SELECT pg_catalog.pg_extension_config_dump('system.jobs', '');
SELECT pg_catalog.pg_extension_config_dump('system.live_queries', 'WHERE false');
SELECT pg_catalog.pg_extension_config_dump('system.audit_log', '');

-- Inserting the storage "local" or the user "root" replaces the row the
-- install script made, as long as nobody has changed it since (this is
-- what a restore does); once changed, a second one is a duplicate as usual.
CREATE FUNCTION system.replace_seeded_row() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	IF TG_TABLE_NAME = 'storages' THEN
		DELETE FROM system.storages s
		WHERE s.storage_id = NEW.storage_id AND s.created_at = s.updated_at;
	ELSE
		DELETE FROM system.users u
		WHERE u.user_id = NEW.user_id AND u.created_at = u.updated_at
		  AND u.password_hash IS NULL AND u.last_login_at IS NULL;
	END IF;
	RETURN NEW;
END $$;
CREATE TRIGGER replace_seeded_local BEFORE INSERT ON system.storages
	FOR EACH ROW WHEN (NEW.storage_id = 'local') EXECUTE FUNCTION system.replace_seeded_row();
CREATE TRIGGER replace_seeded_root BEFORE INSERT ON system.users
	FOR EACH ROW WHEN (NEW.user_id = 'root') EXECUTE FUNCTION system.replace_seeded_row();

-- The audit log is append-only for everyone but superusers.
CREATE FUNCTION system.refuse_audit_change() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	IF NOT kalam._caller_is_superuser() THEN
		RAISE EXCEPTION 'system.audit_log is append-only'
			USING ERRCODE = 'insufficient_privilege',
				  HINT = 'Only a superuser may ' || lower(TG_OP) || ' audit entries.';
	END IF;
	RETURN NULL;
END $$;
-- Statement triggers: they fire even when row-level security leaves no row
-- to change, so the refusal is always an error, never a silent no-op.
CREATE TRIGGER refuse_audit_change BEFORE UPDATE OR DELETE OR TRUNCATE ON system.audit_log
	FOR EACH STATEMENT EXECUTE FUNCTION system.refuse_audit_change();
