--
-- Typed keys: every function works in a parallel worker.
--

CREATE TABLE par AS
SELECT ('u' || (i % 100))::kalam.user_id AS u,
	   ('N' || i)::kalam.user_name AS n,
	   kalam.user_row_id(('u' || (i % 100))::kalam.user_id, i::text::kalam.row_id) AS k,
	   ('ns.t' || i)::kalam.table_id AS t
FROM generate_series(1, 5000) i;
ANALYZE par;

SET force_parallel_mode = on;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;

EXPLAIN (COSTS OFF)
SELECT count(*) FROM par WHERE u = 'u1' AND n > 'n1' AND kalam.user_of(k) = u;

SELECT count(*) FROM par WHERE u = 'u1' AND n > 'n1' AND kalam.user_of(k) = u;
SELECT count(*) FROM par WHERE k ^@ 'u1' AND kalam.namespace_of(t) = 'ns';
EXPLAIN (COSTS OFF) SELECT count(DISTINCT u), min(k), max(t), min(n), max(kalam.row_of(k)) FROM par;
SELECT count(DISTINCT u), min(k), max(t), min(n), max(kalam.row_of(k)) FROM par;
EXPLAIN (COSTS OFF) SELECT count(*) FROM par
WHERE kalam.new_row_id() > '0' AND length(kalam.new_user_id()::text) = 21
	  AND kalam.job_type_of(kalam.new_job_id('flush')) = 'flush'
	  AND kalam.row_id_time(kalam.row_of(k)) < now()
	  AND u::text::kalam.user_id = u;
SELECT count(*) FROM par
WHERE kalam.new_row_id() > '0' AND length(kalam.new_user_id()::text) = 21
	  AND kalam.job_type_of(kalam.new_job_id('flush')) = 'flush'
	  AND kalam.row_id_time(kalam.row_of(k)) < now()
	  AND u::text::kalam.user_id = u;
-- hash and sort inside workers
SELECT u, count(*) FROM par GROUP BY u ORDER BY u LIMIT 3;
SELECT count(*) FROM par a JOIN par b ON a.n = b.n;

RESET force_parallel_mode;
DROP TABLE par;
