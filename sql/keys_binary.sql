--
-- Typed keys: binary send/receive.  A round trip through
-- COPY ... (FORMAT binary) keeps every value, and binary input is judged
-- exactly like text input: it cannot smuggle in what text input rejects.
--

CREATE TABLE all_keys (
	u kalam.user_id,
	n kalam.user_name,
	ns kalam.namespace_id,
	tn kalam.table_name,
	ti kalam.table_id,
	s kalam.storage_id,
	j kalam.job_id,
	lq kalam.live_query_id,
	r kalam.row_id,
	k kalam.user_row_id
);
INSERT INTO all_keys VALUES
	('alice', 'Alice.S', 'chat', 'messages', 'chat.messages', 'local',
	 'UC-0123456789ab', 'alice:c1:s1', '0', 'alice:0'),
	('b-o-b', 'BOB', '_x', 't9', '_x.t9', 's3-eu',
	 'FL-ffffffffffff', 'b-o-b:conn-2:sub-3', '9223372036854775807', 'b-o-b:9223372036854775807'),
	(repeat('x', 128)::kalam.user_id, repeat('N', 128)::kalam.user_name,
	 repeat('n', 63)::kalam.namespace_id, repeat('t', 63)::kalam.table_name,
	 (repeat('n', 63) || '.' || repeat('t', 63))::kalam.table_id,
	 repeat('s', 64)::kalam.storage_id,
	 'LQ-000000000000', 'u:c:s', '1', (repeat('x', 128) || ':1')::kalam.user_row_id);

-- Server-side files go to the (throwaway) data directory.
SELECT current_setting('data_directory') || '/kalamdb_keys_test.bin' AS binfile \gset
COPY all_keys TO :'binfile' (FORMAT binary);
CREATE TABLE all_keys_copy (LIKE all_keys);
COPY all_keys_copy FROM :'binfile' (FORMAT binary);
SELECT count(*) AS copied,
	   (SELECT count(*) FROM (SELECT * FROM all_keys EXCEPT SELECT * FROM all_keys_copy) d) AS missing,
	   (SELECT count(*) FROM (SELECT * FROM all_keys_copy EXCEPT SELECT * FROM all_keys) d) AS extra
FROM all_keys_copy;
-- byte-for-byte the same text, too (user_name equality ignores case)
SELECT count(*) AS differ FROM all_keys a JOIN all_keys_copy b USING (u) WHERE a::text <> b::text;

-- recv(type, bytes): hands exactly these bytes to the type's receive
-- function (the binary COPY form of a bytea is its raw bytes) and returns
-- the value received, or the SQLSTATE, message and detail.
CREATE FUNCTION recv(t regtype, bytes bytea) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	result text;
	detail text;
BEGIN
	EXECUTE format('COPY (SELECT %L::bytea) TO %L (FORMAT binary)', bytes,
				   current_setting('data_directory') || '/kalamdb_keys_test.bin');
	EXECUTE format('CREATE TEMP TABLE one (v %s)', t);
	BEGIN
		EXECUTE format('COPY one FROM %L (FORMAT binary)',
					   current_setting('data_directory') || '/kalamdb_keys_test.bin');
		SELECT v::text INTO result FROM one;
	EXCEPTION WHEN others THEN
		GET STACKED DIAGNOSTICS detail = PG_EXCEPTION_DETAIL;
		result := SQLSTATE || ' ' || SQLERRM || ' (' || detail || ')';
	END;
	DROP TABLE one;
	RETURN result;
END $$;

SELECT t, CASE WHEN length(bytes) > 16 THEN length(bytes) || ' bytes' ELSE bytes::text END AS bytes,
	   recv(t::regtype, bytes) AS result
FROM (VALUES
	('kalam.user_id', 'alice'::bytea),
	('kalam.user_id', ''::bytea),
	('kalam.user_id', '\x616c00696365'::bytea),	-- embedded NUL
	('kalam.user_id', '\x616c69636500'::bytea),	-- trailing NUL
	('kalam.user_id', '\xc3a9'::bytea),			-- é in UTF-8
	('kalam.user_id', '\xff'::bytea),				-- not UTF-8 at all
	('kalam.user_id', 'al ice'::bytea),
	('kalam.user_id', convert_to(repeat('u', 129), 'UTF8')),
	('kalam.user_name', 'ALICE'::bytea),
	('kalam.user_name', '\x414c00'::bytea),
	('kalam.namespace_id', 'Chat'::bytea),			-- folded like text input
	('kalam.namespace_id', '\x00'::bytea),
	('kalam.namespace_id', '9x'::bytea),
	('kalam.table_name', 'a b'::bytea),
	('kalam.table_id', 'a.b'::bytea),
	('kalam.table_id', '\x612e00'::bytea),
	('kalam.table_id', 'ab'::bytea),
	('kalam.storage_id', 'LOCAL'::bytea),
	('kalam.job_id', 'UC-0123456789ab'::bytea),
	('kalam.job_id', 'UC-0123456789a\000'::bytea),
	('kalam.job_id', 'ZZ-0123456789ab'::bytea),
	('kalam.live_query_id', 'u:c:s'::bytea),
	('kalam.live_query_id', 'u:c'::bytea),
	('kalam.row_id', '\x0000000000000001'::bytea),
	('kalam.row_id', '\x7fffffffffffffff'::bytea),
	('kalam.row_id', '\x8000000000000000'::bytea),	-- negative
	('kalam.row_id', '\x00000001'::bytea),			-- too short
	('kalam.row_id', '\x000000000000000001'::bytea),	-- too long
	('kalam.row_id', ''::bytea),
	('kalam.user_row_id', 'alice:42'::bytea),
	('kalam.user_row_id', '\x616c69636500000000000000002a'::bytea),	-- the internal layout is not accepted
	('kalam.user_row_id', 'alice:-1'::bytea),
	('kalam.user_row_id', 'al\000ce:1'::bytea)
) AS v(t, bytes);

-- Binary COPY of a bad value into a real table stores nothing
COPY (SELECT 'ok'::bytea UNION ALL SELECT '\x6200'::bytea) TO :'binfile' (FORMAT binary);
CREATE TABLE users_only (u kalam.user_id);
COPY users_only FROM :'binfile' (FORMAT binary);
SELECT count(*) FROM users_only;

DROP TABLE all_keys, all_keys_copy, users_only;
DROP FUNCTION recv(regtype, bytea);
