--
-- Typed keys: constructors and accessors.
--

-- new_user_id: 21 characters of the user id alphabet, all different
SELECT length(u::text) AS len, u::text ~ '^[A-Za-z0-9_-]{21}$' AS alphabet
FROM (SELECT kalam.new_user_id() AS u) s;
SELECT count(DISTINCT kalam.new_user_id()) FROM generate_series(1, 1000);

-- new_row_id: strictly increasing, even within one millisecond
SELECT bool_and(r > prev) AS increasing, count(*)
FROM (SELECT r, lag(r) OVER (ORDER BY n) AS prev
	  FROM (SELECT n, kalam.new_row_id() AS r FROM generate_series(1, 20000) n) s) s
WHERE prev IS NOT NULL;
-- its time is now, to the millisecond
SELECT abs(extract(epoch FROM kalam.row_id_time(kalam.new_row_id()) - clock_timestamp())) < 1 AS is_now;
SELECT kalam.row_id_time('0'), kalam.row_id_node('0');
-- 2024-01-01 + 1 ms, node 5, sequence 3
SELECT kalam.row_id_time(((1::bigint << 22) | (5 << 12) | 3)::text::kalam.row_id),
	   kalam.row_id_node(((1::bigint << 22) | (5 << 12) | 3)::text::kalam.row_id);
SELECT kalam.row_id_time('9223372036854775807');

-- new_job_id: the prefix names the type, job_type_of reads it back
SELECT jt, left(kalam.new_job_id(jt)::text, 3) AS prefix,
	   kalam.new_job_id(jt)::text ~ '^[A-Z]{2}-[0-9a-f]{12}$' AS shape,
	   kalam.job_type_of(kalam.new_job_id(jt)) = jt AS round_trip
FROM unnest(enum_range(NULL::kalam.job_type)) jt;

-- table_id
SELECT kalam.table_id('Chat', 'Messages'), kalam.namespace_of('chat.messages'), kalam.table_of('chat.messages');
SELECT kalam.table_id(kalam.namespace_of(t), kalam.table_of(t)) = t AS round_trip
FROM (SELECT 'a_b.c_d'::kalam.table_id AS t) s;

-- user_row_id
SELECT kalam.user_row_id('al-ice', '42'), kalam.user_of('al-ice:42'::kalam.user_row_id), kalam.row_of('al-ice:42');
SELECT kalam.user_row_id_first('bob'), kalam.user_row_id_last('bob');
SELECT 'bob:1'::kalam.user_row_id ^@ 'bob' AS own, 'bob:1'::kalam.user_row_id ^@ 'bo' AS prefix,
	   'bob:1'::kalam.user_row_id ^@ 'BOB' AS other_case;

-- live_query_id: a user id with "-" still splits back unambiguously
SELECT kalam.live_query_id('a-b-c', 'pid-42', 'sub-1') AS id,
	   kalam.user_of(kalam.live_query_id('a-b-c', 'pid-42', 'sub-1')) AS user_id,
	   kalam.connection_of(kalam.live_query_id('a-b-c', 'pid-42', 'sub-1')) AS connection,
	   kalam.subscription_of(kalam.live_query_id('a-b-c', 'pid-42', 'sub-1')) AS subscription;
SELECT kalam.live_query_id('a', 'c:d', 's');
SELECT kalam.live_query_id('a', '', 's');

-- NULL in, NULL out
SELECT kalam.user_of(NULL::kalam.user_row_id) IS NULL, kalam.table_id(NULL, 't') IS NULL;
