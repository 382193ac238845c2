#!/bin/sh
# Emits the SQL declarations of the typed keys: one block per row of the
# table at the end of this file.  Every key gets the same set of objects:
# the type with text and binary I/O, =, <>, <, <=, >, >=, default btree and
# hash operator classes, min and max, and explicit casts to and from text.
#
# The operators and aggregates are created in pg_catalog, like those of the built-in
# types: they are found whatever the search_path (system.users WHERE
# username = 'alice' works without kalam on the path, and so do SECURITY
# DEFINER functions pinned to search_path = pg_catalog, pg_temp; min(k)
# works like min() of any built-in type).  Their argument types are
# kalam's own, so they cannot clash with anything.
#
# key NAME ORDERING SORT REPR EQUALIMAGE OUT SEND COMMENT
#   ORDERING   C prefix of the comparison family: bytes_key (byte order),
#              ci_key (ASCII case-insensitive), row_id
#   SORT       C prefix of the sort support: the ordering's own, or one
#              whose abbreviated keys know the type's layout (user_row_id)
#   REPR       varlena or int8 (8 bytes, passed by value)
#   EQUALIMAGE yes when equal values are always byte-identical (allows
#              btree deduplication)
#   OUT, SEND  C names of the output and send functions
set -eu

key() {
	name=$1 ordering=$2 sort=$3 repr=$4 equalimage=$5 out=$6 send=$7 comment=$8
	t="kalam.$name"
	if [ "$repr" = int8 ]; then
		storage="INTERNALLENGTH = 8, PASSEDBYVALUE, ALIGNMENT = double, STORAGE = plain"
	else
		storage="INTERNALLENGTH = VARIABLE, ALIGNMENT = int4, STORAGE = main"
	fi
	cat <<SQL

-- ---------------------------------------------------------------------
-- $t: $comment
-- ---------------------------------------------------------------------

CREATE TYPE $t;

CREATE FUNCTION kalam.${name}_in(cstring) RETURNS $t
	AS 'MODULE_PATHNAME', 'kalam_${name}_in'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION kalam.${name}_out($t) RETURNS cstring
	AS 'MODULE_PATHNAME', '$out'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION kalam.${name}_recv(internal) RETURNS $t
	AS 'MODULE_PATHNAME', 'kalam_${name}_recv'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION kalam.${name}_send($t) RETURNS bytea
	AS 'MODULE_PATHNAME', '$send'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE TYPE $t (
	INPUT = kalam.${name}_in,
	OUTPUT = kalam.${name}_out,
	RECEIVE = kalam.${name}_recv,
	SEND = kalam.${name}_send,
	$storage,
	CATEGORY = 'U'
);
COMMENT ON TYPE $t IS '$comment';

CREATE FUNCTION kalam.${name}_eq($t, $t) RETURNS boolean
	AS 'MODULE_PATHNAME', 'kalam_${ordering}_eq'
	LANGUAGE C IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION kalam.${name}_ne($t, $t) RETURNS boolean
	AS 'MODULE_PATHNAME', 'kalam_${ordering}_ne'
	LANGUAGE C IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION kalam.${name}_lt($t, $t) RETURNS boolean
	AS 'MODULE_PATHNAME', 'kalam_${ordering}_lt'
	LANGUAGE C IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION kalam.${name}_le($t, $t) RETURNS boolean
	AS 'MODULE_PATHNAME', 'kalam_${ordering}_le'
	LANGUAGE C IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION kalam.${name}_gt($t, $t) RETURNS boolean
	AS 'MODULE_PATHNAME', 'kalam_${ordering}_gt'
	LANGUAGE C IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION kalam.${name}_ge($t, $t) RETURNS boolean
	AS 'MODULE_PATHNAME', 'kalam_${ordering}_ge'
	LANGUAGE C IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION kalam.${name}_cmp($t, $t) RETURNS integer
	AS 'MODULE_PATHNAME', 'kalam_${ordering}_cmp'
	LANGUAGE C IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION kalam.${name}_sortsupport(internal) RETURNS void
	AS 'MODULE_PATHNAME', 'kalam_${sort}_sortsupport'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION kalam.${name}_hash($t) RETURNS integer
	AS 'MODULE_PATHNAME', 'kalam_${ordering}_hash'
	LANGUAGE C IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION kalam.${name}_hash_extended($t, bigint) RETURNS bigint
	AS 'MODULE_PATHNAME', 'kalam_${ordering}_hash_extended'
	LANGUAGE C IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;

CREATE OPERATOR pg_catalog.= (
	LEFTARG = $t, RIGHTARG = $t, FUNCTION = kalam.${name}_eq,
	COMMUTATOR = OPERATOR(pg_catalog.=), NEGATOR = OPERATOR(pg_catalog.<>),
	RESTRICT = eqsel, JOIN = eqjoinsel, HASHES, MERGES
);
CREATE OPERATOR pg_catalog.<> (
	LEFTARG = $t, RIGHTARG = $t, FUNCTION = kalam.${name}_ne,
	COMMUTATOR = OPERATOR(pg_catalog.<>), NEGATOR = OPERATOR(pg_catalog.=),
	RESTRICT = neqsel, JOIN = neqjoinsel
);
CREATE OPERATOR pg_catalog.< (
	LEFTARG = $t, RIGHTARG = $t, FUNCTION = kalam.${name}_lt,
	COMMUTATOR = OPERATOR(pg_catalog.>), NEGATOR = OPERATOR(pg_catalog.>=),
	RESTRICT = scalarltsel, JOIN = scalarltjoinsel
);
CREATE OPERATOR pg_catalog.<= (
	LEFTARG = $t, RIGHTARG = $t, FUNCTION = kalam.${name}_le,
	COMMUTATOR = OPERATOR(pg_catalog.>=), NEGATOR = OPERATOR(pg_catalog.>),
	RESTRICT = scalarlesel, JOIN = scalarlejoinsel
);
CREATE OPERATOR pg_catalog.> (
	LEFTARG = $t, RIGHTARG = $t, FUNCTION = kalam.${name}_gt,
	COMMUTATOR = OPERATOR(pg_catalog.<), NEGATOR = OPERATOR(pg_catalog.<=),
	RESTRICT = scalargtsel, JOIN = scalargtjoinsel
);
CREATE OPERATOR pg_catalog.>= (
	LEFTARG = $t, RIGHTARG = $t, FUNCTION = kalam.${name}_ge,
	COMMUTATOR = OPERATOR(pg_catalog.<=), NEGATOR = OPERATOR(pg_catalog.<),
	RESTRICT = scalargesel, JOIN = scalargejoinsel
);

CREATE FUNCTION kalam.${name}_smaller($t, $t) RETURNS $t
	AS 'MODULE_PATHNAME', 'kalam_${ordering}_smaller'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION kalam.${name}_larger($t, $t) RETURNS $t
	AS 'MODULE_PATHNAME', 'kalam_${ordering}_larger'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE AGGREGATE pg_catalog.min($t) (
	SFUNC = kalam.${name}_smaller, STYPE = $t,
	COMBINEFUNC = kalam.${name}_smaller, SORTOP = OPERATOR(pg_catalog.<),
	PARALLEL = SAFE
);
CREATE AGGREGATE pg_catalog.max($t) (
	SFUNC = kalam.${name}_larger, STYPE = $t,
	COMBINEFUNC = kalam.${name}_larger, SORTOP = OPERATOR(pg_catalog.>),
	PARALLEL = SAFE
);

CREATE OPERATOR CLASS kalam.${name}_ops
	DEFAULT FOR TYPE $t USING btree AS
		OPERATOR 1 pg_catalog.<,
		OPERATOR 2 pg_catalog.<=,
		OPERATOR 3 pg_catalog.=,
		OPERATOR 4 pg_catalog.>=,
		OPERATOR 5 pg_catalog.>,
		FUNCTION 1 kalam.${name}_cmp($t, $t),
		FUNCTION 2 kalam.${name}_sortsupport(internal)$(
	if [ "$equalimage" = yes ]; then
		printf ',\n\t\tFUNCTION 4 pg_catalog.btequalimage(oid)'
	fi);

CREATE OPERATOR CLASS kalam.${name}_hash_ops
	DEFAULT FOR TYPE $t USING hash AS
		OPERATOR 1 pg_catalog.=,
		FUNCTION 1 kalam.${name}_hash($t),
		FUNCTION 2 kalam.${name}_hash_extended($t, bigint);

CREATE CAST ($t AS text) WITH INOUT;
CREATE CAST (text AS $t) WITH INOUT;
SQL
}

key user_id       bytes_key bytes_key   varlena yes kalam_string_key_out  kalam_string_key_send  "a user''s id: 1 to 128 of [A-Za-z0-9_-], case-sensitive"
key user_name     ci_key    ci_key      varlena no  kalam_string_key_out  kalam_string_key_send  "a login name: 1 to 128 of [A-Za-z0-9_.-], case-preserving, compared case-insensitively"
key namespace_id  bytes_key bytes_key   varlena yes kalam_string_key_out  kalam_string_key_send  "a namespace: [a-z_][a-z0-9_]*, at most 63 bytes, folded to lower case"
key table_name    bytes_key bytes_key   varlena yes kalam_string_key_out  kalam_string_key_send  "a table name: [a-z_][a-z0-9_]*, at most 63 bytes, folded to lower case"
key table_id      bytes_key bytes_key   varlena yes kalam_string_key_out  kalam_string_key_send  "namespace.table, ordered by (namespace, table)"
key storage_id    bytes_key bytes_key   varlena yes kalam_string_key_out  kalam_string_key_send  "a storage: 1 to 64 of [a-z0-9_-]"
key job_id        bytes_key bytes_key   varlena yes kalam_string_key_out  kalam_string_key_send  "a job: two-letter job type prefix, -, 12 lower-case hex digits"
key live_query_id bytes_key bytes_key   varlena yes kalam_string_key_out  kalam_string_key_send  "a live query: user:connection:subscription"
key row_id        row_id    row_id      int8    yes kalam_row_id_out      kalam_row_id_send      "a 64-bit snowflake: 41 bits of milliseconds since 2024-01-01 UTC, 10 bits of node, 12 bits of sequence"
key user_row_id   bytes_key user_row_id varlena yes kalam_user_row_id_out kalam_user_row_id_send "a (user_id, row_id) pair, ordered by user then row; text form user:row"
