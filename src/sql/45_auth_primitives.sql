
-- ---------------------------------------------------------------------
-- Authentication primitives, in C.  The ones that grant power (setting
-- the effective user, recording failures) are executable by the
-- extension owner only, and called from the SECURITY DEFINER functions
-- of 50_users.sql that do the permission checks.
-- ---------------------------------------------------------------------

CREATE FUNCTION kalam.current_user_id() RETURNS kalam.user_id
	AS 'MODULE_PATHNAME', 'kalam_current_user_id'
	LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION kalam.current_user_id() IS
	'the session''s effective kalam user (GUC kalam.user_id), or NULL';

CREATE FUNCTION kalam._set_effective_user(kalam.user_id, boolean) RETURNS void
	AS 'MODULE_PATHNAME', 'kalam_set_effective_user'
	LANGUAGE C VOLATILE PARALLEL UNSAFE;
REVOKE ALL ON FUNCTION kalam._set_effective_user(kalam.user_id, boolean) FROM PUBLIC;

CREATE FUNCTION kalam._effective_user_is_local() RETURNS boolean
	AS 'MODULE_PATHNAME', 'kalam_effective_user_is_local'
	LANGUAGE C STABLE PARALLEL SAFE;

CREATE FUNCTION kalam._caller_is_superuser() RETURNS boolean
	AS 'MODULE_PATHNAME', 'kalam_caller_is_superuser'
	LANGUAGE C STABLE PARALLEL SAFE;
CREATE FUNCTION kalam._caller_role_name() RETURNS text
	AS 'MODULE_PATHNAME', 'kalam_caller_role_name'
	LANGUAGE C STABLE PARALLEL SAFE;
CREATE FUNCTION kalam._caller_has_privs_of(oid) RETURNS boolean
	AS 'MODULE_PATHNAME', 'kalam_caller_has_privs_of'
	LANGUAGE C STABLE STRICT PARALLEL SAFE;

-- a statement that holds a password: see src/auth/password_statement.c
CREATE FUNCTION kalam._hide_password_statement() RETURNS void
	AS 'MODULE_PATHNAME', 'kalam_hide_password_statement'
	LANGUAGE C VOLATILE PARALLEL UNSAFE;
REVOKE ALL ON FUNCTION kalam._hide_password_statement() FROM PUBLIC;

CREATE FUNCTION kalam.hash_password(text) RETURNS text
	AS 'MODULE_PATHNAME', 'kalam_hash_password'
	LANGUAGE C VOLATILE STRICT PARALLEL SAFE;
REVOKE ALL ON FUNCTION kalam.hash_password(text) FROM PUBLIC;
COMMENT ON FUNCTION kalam.hash_password(text) IS
	'checks the password policy and returns a bcrypt hash of cost kalam.bcrypt_cost';

CREATE FUNCTION kalam._rehash_password(text, text) RETURNS text
	AS 'MODULE_PATHNAME', 'kalam_rehash_password'
	LANGUAGE C VOLATILE STRICT PARALLEL SAFE;
REVOKE ALL ON FUNCTION kalam._rehash_password(text, text) FROM PUBLIC;
COMMENT ON FUNCTION kalam._rehash_password(text, text) IS
	'a new hash of cost kalam.bcrypt_cost if the given one has another cost, else NULL';

CREATE FUNCTION kalam.verify_password(text, text) RETURNS boolean
	AS 'MODULE_PATHNAME', 'kalam_verify_password'
	LANGUAGE C VOLATILE PARALLEL SAFE;
REVOKE ALL ON FUNCTION kalam.verify_password(text, text) FROM PUBLIC;

CREATE FUNCTION kalam._record_login_failure(text, text, text, text, text) RETURNS boolean
	AS 'MODULE_PATHNAME', 'kalam_record_login_failure'
	LANGUAGE C VOLATILE PARALLEL UNSAFE;
REVOKE ALL ON FUNCTION kalam._record_login_failure(text, text, text, text, text) FROM PUBLIC;

CREATE FUNCTION kalam._login_begin(text) RETURNS integer
	AS 'MODULE_PATHNAME', 'kalam_login_begin'
	LANGUAGE C VOLATILE PARALLEL UNSAFE;
REVOKE ALL ON FUNCTION kalam._login_begin(text) FROM PUBLIC;
COMMENT ON FUNCTION kalam._login_begin(text) IS
	'before a login is checked: waits for this session''s last failed login to be recorded; the logins of the user under way, or -1 if a failure waits for the kalamdb worker';

CREATE FUNCTION kalam._login_end() RETURNS void
	AS 'MODULE_PATHNAME', 'kalam_login_end'
	LANGUAGE C VOLATILE PARALLEL UNSAFE;
REVOKE ALL ON FUNCTION kalam._login_end() FROM PUBLIC;
