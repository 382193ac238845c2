
-- ---------------------------------------------------------------------
-- Constructors and accessors of the typed keys
-- ---------------------------------------------------------------------

CREATE FUNCTION kalam.new_user_id() RETURNS kalam.user_id
	AS 'MODULE_PATHNAME', 'kalam_new_user_id'
	LANGUAGE C VOLATILE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION kalam.new_user_id() IS
	'a new random user id: 21 characters of [A-Za-z0-9_-] from pg_strong_random';

CREATE FUNCTION kalam.new_row_id() RETURNS kalam.row_id
	AS 'MODULE_PATHNAME', 'kalam_new_row_id'
	LANGUAGE C VOLATILE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION kalam.new_row_id() IS
	'a new row id, greater than every row id this server handed out before';

CREATE FUNCTION kalam.row_id_time(kalam.row_id) RETURNS timestamptz
	AS 'MODULE_PATHNAME', 'kalam_row_id_time'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION kalam.row_id_node(kalam.row_id) RETURNS integer
	AS 'MODULE_PATHNAME', 'kalam_row_id_node'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION kalam.new_job_id(kalam.job_type) RETURNS kalam.job_id
	AS 'MODULE_PATHNAME', 'kalam_new_job_id'
	LANGUAGE C VOLATILE STRICT PARALLEL SAFE;
CREATE FUNCTION kalam.job_type_of(kalam.job_id) RETURNS kalam.job_type
	AS 'MODULE_PATHNAME', 'kalam_job_type_of'
	LANGUAGE C STABLE STRICT PARALLEL SAFE;

CREATE FUNCTION kalam.table_id(kalam.namespace_id, kalam.table_name) RETURNS kalam.table_id
	AS 'MODULE_PATHNAME', 'kalam_table_id_construct'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION kalam.namespace_of(kalam.table_id) RETURNS kalam.namespace_id
	AS 'MODULE_PATHNAME', 'kalam_table_id_namespace'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION kalam.table_of(kalam.table_id) RETURNS kalam.table_name
	AS 'MODULE_PATHNAME', 'kalam_table_id_table'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION kalam.user_row_id(kalam.user_id, kalam.row_id) RETURNS kalam.user_row_id
	AS 'MODULE_PATHNAME', 'kalam_user_row_id_construct'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION kalam.user_of(kalam.user_row_id) RETURNS kalam.user_id
	AS 'MODULE_PATHNAME', 'kalam_user_row_id_user'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION kalam.row_of(kalam.user_row_id) RETURNS kalam.row_id
	AS 'MODULE_PATHNAME', 'kalam_user_row_id_row'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION kalam.user_row_id_first(kalam.user_id) RETURNS kalam.user_row_id
	AS 'MODULE_PATHNAME', 'kalam_user_row_id_first'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION kalam.user_row_id_last(kalam.user_id) RETURNS kalam.user_row_id
	AS 'MODULE_PATHNAME', 'kalam_user_row_id_last'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- "Every row of user X": k ^@ X, answered by a btree index on k as the
-- range [user_row_id_first(X), user_row_id_last(X)].
CREATE FUNCTION kalam.user_row_id_owned_by_support(internal) RETURNS internal
	AS 'MODULE_PATHNAME', 'kalam_user_row_id_owned_by_support'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION kalam.user_row_id_owned_by(kalam.user_row_id, kalam.user_id) RETURNS boolean
	AS 'MODULE_PATHNAME', 'kalam_user_row_id_owned_by'
	LANGUAGE C IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE
	SUPPORT kalam.user_row_id_owned_by_support;
CREATE OPERATOR pg_catalog.^@ (
	LEFTARG = kalam.user_row_id, RIGHTARG = kalam.user_id,
	FUNCTION = kalam.user_row_id_owned_by,
	RESTRICT = matchingsel, JOIN = matchingjoinsel
);
COMMENT ON OPERATOR pg_catalog.^@ (kalam.user_row_id, kalam.user_id) IS
	'the user row id belongs to the user';

CREATE FUNCTION kalam.live_query_id(kalam.user_id, text, text) RETURNS kalam.live_query_id
	AS 'MODULE_PATHNAME', 'kalam_live_query_id_construct'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION kalam.user_of(kalam.live_query_id) RETURNS kalam.user_id
	AS 'MODULE_PATHNAME', 'kalam_live_query_id_user'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION kalam.connection_of(kalam.live_query_id) RETURNS text
	AS 'MODULE_PATHNAME', 'kalam_live_query_id_connection'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION kalam.subscription_of(kalam.live_query_id) RETURNS text
	AS 'MODULE_PATHNAME', 'kalam_live_query_id_subscription'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
