--
-- Typed keys: btree and hash indexes are used for equality, ranges and
-- the per-user range of user_row_id.
--

CREATE TABLE events (
	u kalam.user_id,
	n kalam.user_name,
	t kalam.table_id,
	j kalam.job_id,
	r kalam.row_id,
	k kalam.user_row_id
);
INSERT INTO events
SELECT ('user' || (i % 500))::kalam.user_id,
	   ('Name' || i)::kalam.user_name,
	   ('ns' || (i % 50) || '.t' || i)::kalam.table_id,
	   ('UC-' || lpad(to_hex(i), 12, '0'))::kalam.job_id,
	   (i * 1000)::text::kalam.row_id,
	   kalam.user_row_id(('user' || (i % 500))::kalam.user_id, (i * 1000)::text::kalam.row_id)
FROM generate_series(1, 20000) i;
CREATE INDEX events_u ON events (u);
CREATE INDEX events_n ON events (n);
CREATE INDEX events_t ON events (t);
CREATE INDEX events_j ON events USING hash (j);
CREATE INDEX events_r ON events (r);
CREATE UNIQUE INDEX events_k ON events (k);
ANALYZE events;

-- equality
EXPLAIN (COSTS OFF) SELECT * FROM events WHERE u = 'user42';
EXPLAIN (COSTS OFF) SELECT * FROM events WHERE n = 'NAME42';
SELECT n FROM events WHERE n = 'NAME42';
EXPLAIN (COSTS OFF) SELECT * FROM events WHERE t = 'NS1.T1';
SELECT t FROM events WHERE t = 'NS1.T1';
EXPLAIN (COSTS OFF) SELECT * FROM events WHERE j = 'UC-00000000002a';
SELECT r FROM events WHERE j = 'UC-00000000002a';
EXPLAIN (COSTS OFF) SELECT * FROM events WHERE r = '42000';

-- ranges
EXPLAIN (COSTS OFF) SELECT * FROM events WHERE r BETWEEN '1000' AND '5000';
SELECT count(*) FROM events WHERE r BETWEEN '1000' AND '5000';
EXPLAIN (COSTS OFF) SELECT t FROM events WHERE t >= 'ns1.a' AND t < 'ns1.t2';
SELECT count(*) FROM events WHERE t >= 'ns1.a' AND t < 'ns1.t2';

-- all rows of one user, as one range scan of the user_row_id index
EXPLAIN (COSTS OFF) SELECT k FROM events WHERE k ^@ 'user42';
SELECT count(*), min(k), max(k) FROM events WHERE k ^@ 'user42';
-- the function spelling plans the same
EXPLAIN (COSTS OFF) SELECT k FROM events WHERE kalam.user_row_id_owned_by(k, 'user42');
-- a user id prefix of another user id does not leak into the range
INSERT INTO events (k) VALUES ('user4:1'), ('user4-x:1'), ('user4_:1');
SELECT count(*) FROM events WHERE k ^@ 'user4';
-- with the user only known at execution time (generic plan)
PREPARE rows_of(kalam.user_id) AS SELECT count(*) FROM events WHERE k ^@ $1;
SET plan_cache_mode = force_generic_plan;
EXPLAIN (COSTS OFF) EXECUTE rows_of('user7');
EXECUTE rows_of('user7');
RESET plan_cache_mode;
DEALLOCATE rows_of;
-- and in order, without a sort
EXPLAIN (COSTS OFF) SELECT k FROM events WHERE k ^@ 'user42' ORDER BY k LIMIT 3;
SELECT k FROM events WHERE k ^@ 'user42' ORDER BY k LIMIT 3;

-- Deduplication is on where equality is byte equality, off for user_name
SELECT c.relname, (SELECT bool_and(amproc IS NOT NULL) FROM pg_amproc p
	WHERE p.amprocfamily = o.opcfamily AND p.amprocnum = 4) AS has_equalimage
FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
	JOIN pg_opclass o ON o.oid = i.indclass[0]
WHERE i.indrelid = 'events'::regclass ORDER BY 1;

DROP TABLE events;
