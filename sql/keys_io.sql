--
-- Typed keys: text input, canonical output and rejected input with their
-- SQLSTATEs, for every key type.
--

-- try(type, value): the canonical output, or the SQLSTATE, message and
-- detail of the error.
CREATE FUNCTION try(t regtype, v text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	result text;
	detail text;
BEGIN
	EXECUTE format('SELECT %L::%s::text', v, t) INTO result;
	RETURN result;
EXCEPTION WHEN others THEN
	GET STACKED DIAGNOSTICS detail = PG_EXCEPTION_DETAIL;
	RETURN SQLSTATE || ' ' || SQLERRM || ' (' || detail || ')';
END $$;

-- Accepted values and their canonical form
SELECT t, v, try(t::regtype, v) AS canonical
FROM (VALUES
	('kalam.user_id', 'alice'),
	('kalam.user_id', 'Alice-42_x'),
	('kalam.user_id', '-'),
	('kalam.user_id', repeat('u', 128)),
	('kalam.user_name', 'Alice.Smith'),
	('kalam.user_name', 'a-b_c.d'),
	('kalam.namespace_id', 'Chat'),
	('kalam.namespace_id', '_tmp9'),
	('kalam.namespace_id', repeat('n', 63)),
	('kalam.table_name', 'Messages'),
	('kalam.table_id', 'Chat.Messages'),
	('kalam.table_id', 'a.b'),
	('kalam.storage_id', 'local'),
	('kalam.storage_id', 's3-eu_1'),
	('kalam.job_id', 'UC-0123456789ab'),
	('kalam.job_id', 'LQ-ffffffffffff'),
	('kalam.live_query_id', 'a-b-c:conn-1:sub_1'),
	('kalam.row_id', '0'),
	('kalam.row_id', '007'),
	('kalam.row_id', '9223372036854775807'),
	('kalam.row_id', '0000000000000000000000000001'),
	('kalam.user_row_id', 'alice:42'),
	('kalam.user_row_id', 'a-b:0')
) AS v(t, v);

-- Empty, too long and malformed values
SELECT left(v, 20) AS v, try(t::regtype, v) AS result
FROM (VALUES
	('kalam.user_id', ''),
	('kalam.user_id', repeat('u', 129)),
	('kalam.user_id', 'al ice'),
	('kalam.user_id', 'alïce'),
	('kalam.user_id', 'alice:1'),
	('kalam.user_name', ''),
	('kalam.user_name', repeat('n', 129)),
	('kalam.user_name', 'alice@example'),
	('kalam.namespace_id', ''),
	('kalam.namespace_id', repeat('n', 64)),
	('kalam.namespace_id', '9lives'),
	('kalam.namespace_id', 'a-b'),
	('kalam.namespace_id', 'ß'),
	('kalam.table_name', 'a.b'),
	('kalam.table_id', 'nodot'),
	('kalam.table_id', 'a.b.c'),
	('kalam.table_id', '.b'),
	('kalam.table_id', 'a.'),
	('kalam.table_id', 'a.' || repeat('t', 64)),
	('kalam.table_id', 'a.1b'),
	('kalam.storage_id', 'Local'),
	('kalam.storage_id', repeat('s', 65)),
	('kalam.job_id', 'UC-0123456789AB'),
	('kalam.job_id', 'XX-0123456789ab'),
	('kalam.job_id', 'UC-0123456789a'),
	('kalam.job_id', 'UC-0123456789abc'),
	('kalam.job_id', 'UC_0123456789ab'),
	('kalam.live_query_id', 'a:b'),
	('kalam.live_query_id', 'a::c'),
	('kalam.live_query_id', 'a:b:c:d'),
	('kalam.live_query_id', repeat('u', 129) || ':b:c'),
	('kalam.row_id', ''),
	('kalam.row_id', '-1'),
	('kalam.row_id', '+1'),
	('kalam.row_id', ' 1'),
	('kalam.row_id', '1e3'),
	('kalam.row_id', '9223372036854775808'),
	('kalam.row_id', '12345678901234567890'),
	('kalam.user_row_id', 'alice'),
	('kalam.user_row_id', ':1'),
	('kalam.user_row_id', 'alice:'),
	('kalam.user_row_id', 'alice:-1'),
	('kalam.user_row_id', 'al ice:1'),
	('kalam.user_row_id', 'alice:9223372036854775808')
) AS v(t, v);

-- Every ASCII character (1 to 127) inside an otherwise valid value: the
-- accepted ones, how many were rejected with 22P02, and how many gave
-- anything else than 22P02 or the expected canonical value (must be 0).
SELECT t,
	string_agg(chr(c), '' ORDER BY c) FILTER (WHERE r NOT LIKE '22P02 %') AS accepted,
	count(*) FILTER (WHERE r LIKE '22P02 %') AS rejected_22p02,
	count(*) FILTER (WHERE r NOT LIKE '22P02 %' AND r <> expected) AS other_results
FROM (VALUES
	('kalam.user_id', 'a%sb', 'a%sb'),
	('kalam.user_name', 'a%sb', 'a%sb'),
	('kalam.namespace_id', 'a%sb', 'a%sb'),
	('kalam.storage_id', 'a%sb', 'a%sb'),
	('kalam.table_id', 'a.b%s', 'a.b%s'),
	('kalam.live_query_id', 'u:c:s%s', 'u:c:s%s'),
	('kalam.job_id', 'UC-0123456789a%s', 'UC-0123456789a%s'),
	('kalam.user_row_id', 'u%s:1', 'u%s:1')
) AS types(t, pattern, expect_pattern),
	generate_series(1, 127) AS c,
	LATERAL (SELECT try(t::regtype, format(pattern, chr(c))) AS r,
					lower(format(expect_pattern, chr(c))) AS expected_lower,
					format(expect_pattern, chr(c)) AS expected_exact) x,
	LATERAL (SELECT CASE WHEN t IN ('kalam.namespace_id', 'kalam.table_id')
					THEN expected_lower ELSE expected_exact END AS expected) y
GROUP BY t ORDER BY t;

-- Non-ASCII text is rejected with the offending character named
SELECT try('kalam.user_id', 'jürgen');
SELECT try('kalam.user_name', '名前');
SELECT try('kalam.table_id', 'chat.méssages');

-- Case: user_id is case-sensitive, identifiers fold, user_name keeps case
SELECT 'Alice'::kalam.user_id = 'alice'::kalam.user_id AS user_id_equal,
	   'Alice'::kalam.user_name = 'alice'::kalam.user_name AS user_name_equal,
	   'Alice'::kalam.user_name::text AS user_name_kept,
	   'Chat'::kalam.namespace_id = 'chat'::kalam.namespace_id AS namespace_equal;

-- Types do not mix: comparing or assigning different key types fails
SELECT 'a'::kalam.user_id = 'a'::kalam.user_name;
SELECT 'a'::kalam.user_id = 'a.b'::kalam.table_id;
SELECT 'a'::kalam.user_id = 'a'::text;
CREATE TABLE mix (u kalam.user_id);
INSERT INTO mix VALUES ('a.b'::kalam.table_id);
INSERT INTO mix VALUES ('a'::text);
INSERT INTO mix SELECT 'a'::kalam.user_name;
INSERT INTO mix VALUES ('a');		-- an untyped literal is input, fine
SELECT u FROM mix;
DROP TABLE mix;
