--
-- Typed keys: ordering, equality, hashing and uniqueness.
--

-- user_id: byte order, case-sensitive
SELECT array_agg(u ORDER BY u) FROM unnest(ARRAY['b', 'B', 'a', 'a-1', 'a_1', 'A', '0', '-']::kalam.user_id[]) u;

-- user_name: case-insensitive order; equal names keep their spelling
SELECT array_agg(n ORDER BY n, n::text) FROM unnest(ARRAY['bob', 'Alice', 'alice', 'ALICE', 'a.b', 'a-b', 'Zed']::kalam.user_name[]) n;
SELECT count(DISTINCT n) FROM unnest(ARRAY['bob', 'Alice', 'alice', 'ALICE']::kalam.user_name[]) n;

-- table_id: ordered by (namespace, table), even where the text differs
SELECT array_agg(t ORDER BY t) FROM unnest(ARRAY['a_b.x', 'a.z', 'a.b_c', 'a.b', 'ab.a', 'a0.a']::kalam.table_id[]) t;
SELECT array_agg(t ORDER BY kalam.namespace_of(t)::text, kalam.table_of(t)::text)
	= array_agg(t ORDER BY t) AS same_order
FROM unnest(ARRAY['a_b.x', 'a.z', 'a.b_c', 'a.b', 'ab.a', 'a0.a', 'a.a', '_.z']::kalam.table_id[]) t;

-- row_id: numeric order
SELECT array_agg(r ORDER BY r) FROM unnest(ARRAY['10', '9', '0', '100', '9223372036854775807']::kalam.row_id[]) r;

-- user_row_id: by user, then by row (numerically, not as text)
SELECT array_agg(k ORDER BY k) FROM unnest(ARRAY['b:1', 'a:10', 'a:9', 'a-b:1', 'a:100', 'A:5', 'ab:0']::kalam.user_row_id[]) k;

-- The operators agree with the comparison function, both ways, for every type
CREATE FUNCTION check_operators(t regtype, vals text[]) RETURNS TABLE (pairs bigint, mismatches bigint)
LANGUAGE plpgsql AS $$
BEGIN
	RETURN QUERY EXECUTE format($q$
		SELECT count(*),
			count(*) FILTER (WHERE
				(a < b) IS DISTINCT FROM (kalam.%1$s_cmp(a, b) < 0) OR
				(a <= b) IS DISTINCT FROM (kalam.%1$s_cmp(a, b) <= 0) OR
				(a = b) IS DISTINCT FROM (kalam.%1$s_cmp(a, b) = 0) OR
				(a <> b) IS DISTINCT FROM (kalam.%1$s_cmp(a, b) <> 0) OR
				(a >= b) IS DISTINCT FROM (kalam.%1$s_cmp(a, b) >= 0) OR
				(a > b) IS DISTINCT FROM (kalam.%1$s_cmp(a, b) > 0) OR
				kalam.%1$s_cmp(a, b) <> -kalam.%1$s_cmp(b, a) OR
				((a = b) AND kalam.%1$s_hash(a) <> kalam.%1$s_hash(b)))
		FROM unnest($1::%2$s[]) a, unnest($1::%2$s[]) b
	$q$, replace(t::text, 'kalam.', ''), t) USING vals;
END $$;

SELECT t, c.*
FROM (VALUES
	('kalam.user_id', ARRAY['a', 'A', 'b', 'ab', 'a-', 'a_', '0']),
	('kalam.user_name', ARRAY['a', 'A', 'b', 'ab', 'AB', 'a.', 'a-', '_']),
	('kalam.namespace_id', ARRAY['a', 'b', 'ab', 'a_', '_a']),
	('kalam.table_name', ARRAY['a', 'b', 'ab', 'a_', '_a']),
	('kalam.table_id', ARRAY['a.b', 'a.c', 'ab.a', 'a_.a', 'a.ab']),
	('kalam.storage_id', ARRAY['local', 'lo', 'a-b', 'a_b']),
	('kalam.job_id', ARRAY['UC-000000000000', 'UC-00000000000f', 'FL-000000000000']),
	('kalam.live_query_id', ARRAY['a:b:c', 'a:b:d', 'a-b:c:d', 'ab:c:d']),
	('kalam.row_id', ARRAY['0', '1', '10', '9223372036854775807']),
	('kalam.user_row_id', ARRAY['a:1', 'a:2', 'a:10', 'a-b:0', 'ab:0', 'A:1'])
) AS v(t, vals), LATERAL check_operators(t::regtype, vals) c;

-- A unique index on user_name rejects ALICE after alice, and keeps the case
CREATE TABLE logins (name kalam.user_name UNIQUE);
INSERT INTO logins VALUES ('alice');
INSERT INTO logins VALUES ('ALICE');
INSERT INTO logins VALUES ('Bob');
SELECT name FROM logins WHERE name = 'BOB';
SELECT name FROM logins ORDER BY name;

-- The same through a hash index and a hash join
CREATE INDEX logins_hash ON logins USING hash (name);
SET enable_seqscan = off;
SELECT name FROM logins WHERE name = 'ALICE';
RESET enable_seqscan;
SET enable_mergejoin = off;
SET enable_nestloop = off;
SELECT a.name, b.name FROM logins a JOIN (VALUES ('ALICE'::kalam.user_name), ('bob')) b(name) ON a.name = b.name ORDER BY 1;
RESET enable_mergejoin;
RESET enable_nestloop;
-- and a merge join
SET enable_hashjoin = off;
SET enable_nestloop = off;
SELECT a.name, b.name FROM logins a JOIN (VALUES ('ALICE'::kalam.user_name), ('bob')) b(name) ON a.name = b.name ORDER BY 1;
RESET enable_hashjoin;
RESET enable_nestloop;
DROP TABLE logins;

-- Sorting many values takes the sortsupport path (abbreviated keys where
-- the type is longer than 8 bytes) and agrees with the comparison function
CREATE TABLE many AS
SELECT ('user_' || md5(i::text))::kalam.user_id AS u,
	   (CASE WHEN i % 2 = 0 THEN upper(md5(i::text)) ELSE md5(i::text) END)::kalam.user_name AS n,
	   -- users of 1 to 12 characters sharing prefixes, rows of every bit
	   -- length: user_row_id's abbreviation packs both into 64 bits
	   kalam.user_row_id(translate(substr(md5((i % 400)::text), 1, 1 + i % 12),
								   '0123456789abcdef', '-_09AZaz-_09AZaz')::kalam.user_id,
						 ((i * 7919 % 100003)::bigint << (i % 47))::text::kalam.row_id) AS k,
	   (i * 7919 % 100003)::text::kalam.row_id AS r
FROM generate_series(1, 20000) i;
-- and the extremes: row 0 and the largest row, user ids of 9 and more
-- characters (past what the abbreviation holds)
INSERT INTO many (k)
SELECT kalam.user_row_id(u::kalam.user_id, r::kalam.row_id)
FROM unnest(ARRAY['a', 'a-', 'A', 'abcdefghi', 'abcdefghij', 'abcdefghiZ', 'abcdefgh-', 'zzzzzzzzzzzzzzzzzz']) u,
	 unnest(ARRAY['0', '1', '2', '3', '4095', '4096', '9223372036854775806', '9223372036854775807']) r;
SELECT count(*) AS out_of_order FROM (
	SELECT u, lag(u) OVER (ORDER BY u) AS prev FROM many) s WHERE kalam.user_id_cmp(prev, u) > 0;
SELECT count(*) AS out_of_order FROM (
	SELECT n, lag(n) OVER (ORDER BY n) AS prev FROM many) s WHERE kalam.user_name_cmp(prev, n) > 0;
SELECT count(*) AS out_of_order FROM (
	SELECT k, lag(k) OVER (ORDER BY k) AS prev FROM many) s WHERE kalam.user_row_id_cmp(prev, k) > 0;
SELECT count(*) AS out_of_order FROM (
	SELECT r, lag(r) OVER (ORDER BY r) AS prev FROM many) s WHERE kalam.row_id_cmp(prev, r) > 0;
-- the order of user_row_id is the order of (user, row)
SELECT count(*) AS differ FROM (
	SELECT row_number() OVER (ORDER BY k) AS a,
		   row_number() OVER (ORDER BY kalam.user_of(k), kalam.row_of(k)) AS b
	FROM many) s WHERE a <> b;
-- and case-folded duplicates count once
SELECT count(DISTINCT n) = count(DISTINCT lower(n::text)) AS ci_distinct FROM many;
DROP TABLE many;
