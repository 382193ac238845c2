--
-- kalam.compact(): the rows of owners whose rows lie on more pages than
-- they need are gathered onto their fullest pages of their own, without
-- changing a value, with every index entry, and only by the table's owner.
--
CREATE EXTENSION IF NOT EXISTS amcheck;

-- how each owner's rows lie: pages per owner, the most pages any owner has
-- beyond the minimum its rows need, pages shared by several owners
CREATE FUNCTION compact_layout(t regclass, OUT rows bigint, OUT pages_per_owner numeric,
							   OUT worst_extra bigint, OUT mixed bigint)
LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE format($q$
		WITH r AS (
			SELECT owner, (ctid::text::point)[0]::bigint AS page,
				   ((pg_column_size(x.*) + 7) / 8 * 8 + 4) AS bytes
			FROM %s x),
		per_owner AS (
			SELECT owner, count(DISTINCT page) AS pages,
				   ceil(sum(bytes) / 8168.0)::bigint AS need
			FROM r GROUP BY owner)
		SELECT (SELECT count(*) FROM r),
			   (SELECT round(avg(pages), 2) FROM per_owner),
			   (SELECT max(pages - need) FROM per_owner),
			   (SELECT count(*) FROM (SELECT page FROM r GROUP BY page
									  HAVING count(DISTINCT owner) > 1) s)
	$q$, t) INTO rows, pages_per_owner, worst_extra, mixed;
END $$;

-- the rows' contents, in a stable order
CREATE FUNCTION compact_digest(t regclass) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	d text;
BEGIN
	EXECUTE format('SELECT md5(string_agg(x::text, %L ORDER BY n)) FROM %s x', ',', t) INTO d;
	RETURN d;
END $$;

-- the SQLSTATE and message of a statement's error
CREATE FUNCTION compact_error(statement text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE statement;
	RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
	RETURN SQLSTATE || ' ' || SQLERRM;
END $$;

-- 40 owners x 100 rows of ~190 bytes, round-robin; a unique index, a
-- partial expression index and the owner index
CREATE TABLE holes (owner kalam.user_id NOT NULL, n int NOT NULL, body text NOT NULL)
	USING kalamdb;
CREATE INDEX holes_owner ON holes (owner);
CREATE UNIQUE INDEX holes_n ON holes (n);
CREATE INDEX holes_even_body ON holes (lower(body)) WHERE n % 2 = 0;
INSERT INTO holes
SELECT ('owner' || o)::kalam.user_id, r * 100 + o, repeat(chr(97 + o % 26), 150)
FROM generate_series(1, 100) r, generate_series(1, 40) o ORDER BY r, o;

-- delete a third of every owner's rows, VACUUM, then ten owners grow
DELETE FROM holes WHERE (n / 100) % 3 = 0;
VACUUM holes;
INSERT INTO holes
SELECT ('owner' || o)::kalam.user_id, 100000 + r * 100 + o, repeat(chr(97 + o % 26), 150)
FROM generate_series(1, 30) r, generate_series(1, 10) o ORDER BY r, o;
SELECT * FROM compact_layout('holes');
CREATE TABLE holes_before AS SELECT compact_digest('holes') AS digest;

-- every owner is left on as many pages as its rows need, or one more
SELECT kalam.compact('holes') > 0 AS moved_rows;
VACUUM holes;
SELECT * FROM compact_layout('holes');
SELECT compact_digest('holes') = digest AS same_rows FROM holes_before;
SELECT bt_index_check('holes_owner', true), bt_index_check('holes_n', true),
	   bt_index_check('holes_even_body', true);
SET enable_seqscan = off;
SET enable_bitmapscan = off;
SELECT count(*) FROM holes WHERE owner = 'owner7';
SELECT count(*) FROM holes WHERE n BETWEEN 100 AND 5000;
SELECT count(*) FROM holes WHERE lower(body) = repeat('i', 150) AND n % 2 = 0;
RESET enable_seqscan;
RESET enable_bitmapscan;
SELECT count(*) FROM holes WHERE owner = 'owner7';
SELECT count(*) FROM holes WHERE lower(body) = repeat('i', 150) AND n % 2 = 0;
-- the unique index still holds
INSERT INTO holes VALUES ('owner1', 101, 'again');

-- new rows after a compaction still go to pages of their owner
INSERT INTO holes
SELECT ('owner' || o)::kalam.user_id, 200000 + r * 100 + o, repeat('z', 150)
FROM generate_series(1, 20) r, generate_series(1, 40) o ORDER BY r, o;
SELECT worst_extra <= 1 AS still_together FROM compact_layout('holes');

-- a TOASTed value moves with its row: owner big's first rows sit on a
-- page shared with other new owners, the rest on pages of its own
CREATE TABLE toasted (owner kalam.user_id NOT NULL, n int NOT NULL, body text NOT NULL)
	USING kalamdb;
INSERT INTO toasted VALUES ('small1', 1, 's'), ('small2', 2, 's');
INSERT INTO toasted SELECT 'big', 10, string_agg(md5(i::text), '') FROM generate_series(1, 32768) i;
INSERT INTO toasted SELECT 'big', 10 + i, repeat('t', 150) FROM generate_series(1, 60) i;
SELECT count(DISTINCT (ctid::text::point)[0]) AS big_pages FROM toasted WHERE owner = 'big';
CREATE TABLE toasted_before AS SELECT md5(body) AS digest FROM toasted WHERE n = 10;
SELECT kalam.compact('toasted') AS moved;
SELECT count(DISTINCT (ctid::text::point)[0]) AS big_pages FROM toasted WHERE owner = 'big';
SELECT md5(body) = digest AS same_value, length(body) FROM toasted, toasted_before WHERE n = 10;
-- nothing left to gather
SELECT kalam.compact('toasted') AS moved;

-- a shared page is never filled with one owner's rows, also where the
-- other owners' rows on it are deleted (not yet vacuumed away): here b's
-- deleted rows share page 0 with a's first five, and b's next row, its
-- owner found through the owner index, goes back there
CREATE TABLE shared_dead (owner kalam.user_id NOT NULL, id int NOT NULL, body text NOT NULL) USING kalamdb;
CREATE INDEX ON shared_dead (owner);
INSERT INTO shared_dead SELECT 'a', i, repeat('a', 100) FROM generate_series(1, 5) i;
INSERT INTO shared_dead SELECT 'b', i, repeat('b', 100) FROM generate_series(1, 3) i;
INSERT INTO shared_dead SELECT 'a', i, repeat('a', 100) FROM generate_series(6, 60) i;
DELETE FROM shared_dead WHERE owner = 'a' AND id > 9;
DELETE FROM shared_dead WHERE owner = 'b';
SELECT kalam.compact('shared_dead') AS moved;
INSERT INTO shared_dead VALUES ('b', 100, 'b');
SELECT count(*) AS rows_of_a_beside_b FROM shared_dead
WHERE owner = 'a' AND (ctid::text::point)[0] = (SELECT (ctid::text::point)[0] FROM shared_dead WHERE id = 100);
DROP TABLE shared_dead;

-- only a kalamdb table with an owner column, only by its owner, not read-only
CREATE TABLE plain_heap (owner kalam.user_id, n int);
CREATE TABLE no_owner (n int) USING kalamdb;
CREATE TEMPORARY TABLE temp_rows (owner kalam.user_id, n int) USING kalamdb;
SELECT compact_error($$SELECT kalam.compact('plain_heap')$$);
SELECT compact_error($$SELECT kalam.compact('no_owner')$$);
SELECT compact_error($$SELECT kalam.compact('temp_rows')$$);
-- a table that does not exist (the check for its owner lets a superuser by)
SELECT compact_error($$SELECT kalam.compact(0::oid::regclass)$$);
CREATE ROLE regress_compact_stranger;
GRANT USAGE ON SCHEMA kalam TO regress_compact_stranger;
GRANT EXECUTE ON FUNCTION compact_error(text) TO regress_compact_stranger;
SET ROLE regress_compact_stranger;
SELECT compact_error($$SELECT kalam.compact('holes')$$);
RESET ROLE;
BEGIN READ ONLY;
SELECT compact_error($$SELECT kalam.compact('holes')$$);
ROLLBACK;
-- only at READ COMMITTED, with a snapshot taken once the lock is held
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT compact_error($$SELECT kalam.compact('holes')$$);
ROLLBACK;
-- not with deferred checks pending, nor with a cursor open on the table
CREATE TABLE deferred (owner kalam.user_id NOT NULL, n int NOT NULL,
	UNIQUE (n) DEFERRABLE INITIALLY DEFERRED) USING kalamdb;
BEGIN;
INSERT INTO deferred VALUES ('d1', 1), ('d2', 1);
SELECT compact_error($$SELECT kalam.compact('deferred')$$);
ROLLBACK;
BEGIN;
DECLARE open_rows CURSOR FOR SELECT n FROM holes;
MOVE NEXT IN open_rows;
SELECT compact_error($$SELECT kalam.compact('holes')$$);
ROLLBACK;
-- nor a published table: subscribers would get the moves as changes
SET client_min_messages = error;	-- no word on wal_level
CREATE PUBLICATION compact_pub FOR TABLE toasted WITH (publish = 'insert');
RESET client_min_messages;
SELECT compact_error($$SELECT kalam.compact('toasted')$$);
DROP PUBLICATION compact_pub;
REVOKE ALL ON FUNCTION compact_error(text) FROM regress_compact_stranger;
REVOKE USAGE ON SCHEMA kalam FROM regress_compact_stranger;
DROP ROLE regress_compact_stranger;
