-- bench/keys: the same values as a typed key and as its baseline.
-- N rows; keys are derived from i so that pgbench can look them up.
CREATE EXTENSION IF NOT EXISTS kalamdb;
SET max_parallel_maintenance_workers = 0;

-- user_id vs text COLLATE "C" vs uuid: 21 random-looking characters
CREATE TABLE b_user_id AS SELECT i, substr(md5(i::text), 1, 21)::kalam.user_id AS k FROM generate_series(1, :N) i;
CREATE TABLE b_user_id_text AS SELECT i, substr(md5(i::text), 1, 21) COLLATE "C" AS k FROM generate_series(1, :N) i;
CREATE TABLE b_user_id_uuid AS SELECT i, md5(i::text)::uuid AS k FROM generate_series(1, :N) i;
-- user_name (case-insensitive) vs text COLLATE "C" (case-sensitive)
CREATE TABLE b_user_name AS SELECT i, translate(substr(md5(i::text), 1, 21), 'abc', 'ABC')::kalam.user_name AS k FROM generate_series(1, :N) i;
CREATE TABLE b_user_name_text AS SELECT i, translate(substr(md5(i::text), 1, 21), 'abc', 'ABC') COLLATE "C" AS k FROM generate_series(1, :N) i;
-- row_id vs bigint: scattered 62-bit values
CREATE TABLE b_row_id AS SELECT i, ((i * 2654435761) % 4611686018427387904)::text::kalam.row_id AS k FROM generate_series(1, :N) i;
CREATE TABLE b_row_id_bigint AS SELECT i, ((i * 2654435761) % 4611686018427387904)::bigint AS k FROM generate_series(1, :N) i;
-- user_row_id vs its text form: 1000 users, rows in time order
CREATE TABLE b_user_row_id AS SELECT i, ('u' || (i % 1000) || ':' || (i::bigint * 4096))::kalam.user_row_id AS k FROM generate_series(1, :N) i;
CREATE TABLE b_user_row_id_text AS SELECT i, ('u' || (i % 1000) || ':' || (i::bigint * 4096)) COLLATE "C" AS k FROM generate_series(1, :N) i;
