--
-- The kalamdb access method: every insert path puts a row on a page of its
-- owner.  Locality is measured from ctid, not assumed.
--
-- layout(table) reports, over the owners of the table:
--   worst_extra: the most pages any owner uses beyond the minimum its rows
--                need (ceil(bytes / usable page space)); must be 0 or 1
--   mixed:       pages holding rows of more than one owner (shared pages)
--   bad_mixed:   mixed pages where some owner has more than
--                kalam.small_owner_rows rows; must be 0
CREATE FUNCTION layout(t regclass, OUT owners bigint, OUT rows bigint, OUT pages bigint,
					   OUT worst_extra bigint, OUT mixed bigint, OUT bad_mixed bigint)
LANGUAGE plpgsql AS $$
DECLARE
	k int := current_setting('kalam.small_owner_rows')::int;
BEGIN
	EXECUTE format($q$
		WITH r AS (
			SELECT owner, (ctid::text::point)[0]::bigint AS page,
				   ((pg_column_size(x.*) + 7) / 8 * 8 + 4) AS bytes
			FROM %s x),
		per_owner AS (
			SELECT owner, count(*) AS n, count(DISTINCT page) AS pages,
				   ceil(sum(bytes) / 8168.0)::bigint AS need
			FROM r GROUP BY owner),
		per_page AS (
			SELECT page, count(DISTINCT owner) AS owners,
				   max(n) AS most_rows_of_one_owner
			FROM (SELECT page, owner, count(*) AS n FROM r GROUP BY page, owner) s
			GROUP BY page)
		SELECT (SELECT count(*) FROM per_owner),
			   (SELECT count(*) FROM r),
			   (SELECT count(DISTINCT page) FROM r),
			   (SELECT max(pages - need) FROM per_owner),
			   (SELECT count(*) FROM per_page WHERE owners > 1),
			   (SELECT count(*) FROM per_page WHERE owners > 1 AND most_rows_of_one_owner > %s)
	$q$, t, k) INTO owners, rows, pages, worst_extra, mixed, bad_mixed;
END $$;

-- rows of about 150 bytes: owner, row id, text, timestamp
CREATE TABLE single (owner kalam.user_id NOT NULL, id bigint, body text, at timestamptz) USING kalamdb;
CREATE INDEX ON single (owner);
CREATE TABLE heap_twin (LIKE single) USING heap;

-- 1. single-row INSERTs, owners round-robin
DO $$
BEGIN
	FOR i IN 1..3000 LOOP
		INSERT INTO single VALUES (('user' || (i % 50))::kalam.user_id, i, repeat('m', 100), '2026-01-01');
	END LOOP;
END $$;
INSERT INTO heap_twin SELECT * FROM single ORDER BY id;
SELECT * FROM layout('single');
SELECT * FROM layout('heap_twin');

-- 2. INSERT ... SELECT
CREATE TABLE ins_select (LIKE single) USING kalamdb;
INSERT INTO ins_select SELECT ('user' || (i % 50))::kalam.user_id, i, repeat('m', 100), '2026-01-01'
FROM generate_series(1, 3000) i;
SELECT * FROM layout('ins_select');

-- 3. COPY (multi_insert, batches with many owners)
SELECT current_setting('data_directory') || '/kalamdb_am_test.copy' AS copyfile \gset
COPY (SELECT ('user' || (i % 50))::kalam.user_id, i, repeat('m', 100), '2026-01-01'::timestamptz
	  FROM generate_series(1, 3000) i) TO :'copyfile';
CREATE TABLE copied (LIKE single) USING kalamdb;
COPY copied FROM :'copyfile';
SELECT * FROM layout('copied');
-- COPY of data sorted by owner, the way a dump has it
COPY (SELECT * FROM copied ORDER BY owner, id) TO :'copyfile';
CREATE TABLE copied_sorted (LIKE single) USING kalamdb;
COPY copied_sorted FROM :'copyfile';
SELECT * FROM layout('copied_sorted');

-- COPY into a table with a volatile default goes row by row (tuple_insert
-- with COPY's bulk-insert state, which pins the owner's page through the
-- buffer the owner map remembers), owners interleaved
SELECT current_setting('data_directory') || '/kalamdb_am_rows.copy' AS rowsfile \gset
COPY (SELECT ('user' || (i % 50))::kalam.user_id, repeat('m', 100), '2026-01-01'::timestamptz
	  FROM generate_series(1, 3000) i) TO :'rowsfile';
CREATE TABLE copied_rows (owner kalam.user_id NOT NULL, id kalam.row_id DEFAULT kalam.new_row_id(),
						  body text, at timestamptz) USING kalamdb;
COPY copied_rows (owner, body, at) FROM :'rowsfile';
SELECT * FROM layout('copied_rows');
-- again, into the same pages (the map knows them, and their buffers)
COPY copied_rows (owner, body, at) FROM :'rowsfile';
SELECT * FROM layout('copied_rows');

-- COPY FREEZE leaves every page all-frozen, as heap's batches do, also
-- where a batch brings one row of each of its owners (rows of 600 owners,
-- interleaved) and for the rows heap TOASTs, which go alone
CREATE EXTENSION pg_visibility;
SELECT current_setting('data_directory') || '/kalamdb_am_frozen.copy' AS frozenfile \gset
COPY (SELECT ('fz' || (i % 600))::kalam.user_id, i,
			 CASE WHEN i % 500 = 0
				  THEN (SELECT string_agg(md5(i::text || j::text), '') FROM generate_series(1, 100) j)
				  ELSE repeat('f', 100) END,
			 '2026-01-01'::timestamptz
	  FROM generate_series(1, 4800) i) TO :'frozenfile';
BEGIN;
CREATE TABLE frozen (LIKE single) USING kalamdb;
COPY frozen FROM :'frozenfile' WITH (FREEZE);
COMMIT;
SELECT pg_relation_size('frozen') / 8192 - all_visible AS not_all_visible,
	   pg_relation_size('frozen') / 8192 - all_frozen AS not_all_frozen
FROM pg_visibility_map_summary('frozen');
SELECT count(*) AS rows_not_frozen FROM pg_check_frozen('frozen');
SELECT count(*) AS toasted FROM frozen WHERE length(body) > 3000;
SELECT worst_extra, bad_mixed FROM layout('frozen');
DROP EXTENSION pg_visibility;

-- 4. INSERT ... ON CONFLICT (speculative insertion)
CREATE TABLE upserted (LIKE single) USING kalamdb;
CREATE UNIQUE INDEX ON upserted (id);
DO $$
BEGIN
	FOR i IN 1..3000 LOOP
		INSERT INTO upserted VALUES (('user' || (i % 50))::kalam.user_id, i, repeat('m', 100), '2026-01-01')
		ON CONFLICT (id) DO NOTHING;
	END LOOP;
	FOR i IN 1..3000 BY 7 LOOP
		INSERT INTO upserted VALUES (('user' || (i % 50))::kalam.user_id, i, repeat('u', 100), '2026-01-01')
		ON CONFLICT (id) DO UPDATE SET body = excluded.body;
		INSERT INTO upserted VALUES (('user' || (i % 50))::kalam.user_id, i, 'ignored', '2026-01-01')
		ON CONFLICT DO NOTHING;
	END LOOP;
END $$;
SELECT count(*) FILTER (WHERE body LIKE 'u%') AS updated, count(*) FILTER (WHERE body = 'ignored') AS ignored
FROM upserted;
SELECT * FROM layout('upserted');

-- 5. updates that do not fit on their page (non-HOT): new versions go to
--    pages of their owner (the old versions still take room until VACUUM,
--    hence more pages than the live rows need)
UPDATE single SET body = repeat('g', 400) WHERE id % 3 = 0;
SELECT * FROM layout('single');

-- the page chosen for a new version is looked at first: here in-place
-- updates filled owner a's current page behind the owner map's back, and
-- heap, finding no room there, would have taken a page from the free space
-- map (VACUUM filled it), shared with b
CREATE TABLE stale_room (owner kalam.user_id NOT NULL, id int NOT NULL, body text NOT NULL) USING kalamdb;
CREATE INDEX ON stale_room (owner);
INSERT INTO stale_room SELECT 'a', i, repeat('a', 120) FROM generate_series(1, 58) i;
INSERT INTO stale_room SELECT 'b', 100 + i, repeat('b', 120) FROM generate_series(1, 10) i;
VACUUM stale_room;
INSERT INTO stale_room VALUES ('a', 59, repeat('a', 120));
UPDATE stale_room SET body = repeat('A', 1500)
WHERE id IN (SELECT id FROM stale_room
			 WHERE (ctid::text::point)[0] = (SELECT (ctid::text::point)[0] FROM stale_room WHERE id = 59)
			 ORDER BY id LIMIT 4);
SELECT count(*) AS rows_on_a_full_page FROM stale_room
WHERE (ctid::text::point)[0] = (SELECT (ctid::text::point)[0] FROM stale_room WHERE id = 20);
UPDATE stale_room SET body = repeat('A', 1500) WHERE id = 20;
SELECT count(DISTINCT owner) AS owners_on_its_page FROM stale_room
WHERE (ctid::text::point)[0] = (SELECT (ctid::text::point)[0] FROM stale_room WHERE id = 20);
DROP TABLE stale_room;

-- a new version is placed by the most it can take once TOASTed: this
-- row's value b stays in it (the row is within the TOAST target with a out
-- of line), so it no longer fits on its page; heap must not be left to
-- take whatever page it was told last (owner y's)
CREATE TABLE upd_bound (owner kalam.user_id NOT NULL, n int NOT NULL, note text NOT NULL, a text, b text) USING kalamdb;
CREATE INDEX ON upd_bound (owner);
INSERT INTO upd_bound (owner, n, note) SELECT 'x', i, 'f' FROM generate_series(1, 5) i;
INSERT INTO upd_bound SELECT 'x', 100, 'r', string_agg(md5(i::text), ''), left(string_agg(md5((i + 1000)::text), ''), 1000)
FROM generate_series(1, 38) i;
INSERT INTO upd_bound (owner, n, note) SELECT 'x', 5 + i, repeat('f', 370) FROM generate_series(1, 20) i;
INSERT INTO upd_bound (owner, n, note) VALUES ('y', 200, 'y');
UPDATE upd_bound SET note = 'r2' WHERE n = 100;
SELECT count(DISTINCT owner) AS owners_on_its_page FROM upd_bound
WHERE (ctid::text::point)[0] = (SELECT (ctid::text::point)[0] FROM upd_bound WHERE n = 100);
DROP TABLE upd_bound;

-- an update that gives rows to another owner moves them to pages of the
-- new owner, also where they would fit on the old owner's page (heap
-- keeps a new version there), with their TOASTed values and through ON
-- CONFLICT DO UPDATE; the moved rows are found through every index
CREATE TABLE given (owner kalam.user_id NOT NULL, id int PRIMARY KEY, body text NOT NULL, doc text) USING kalamdb;
CREATE INDEX ON given (owner);
INSERT INTO given SELECT 'giver', i, repeat('g', 100) FROM generate_series(1, 30) i;
INSERT INTO given SELECT 'taker', 100 + i, repeat('t', 100) FROM generate_series(1, 30) i;
UPDATE given SET doc = (SELECT string_agg(md5(i::text), '') FROM generate_series(1, 300) i) WHERE id = 25;
UPDATE given SET owner = 'taker' WHERE id IN (20, 25);
INSERT INTO given VALUES ('x', 21, 'x') ON CONFLICT (id) DO UPDATE SET owner = 'taker';
SELECT id, owner, length(doc) AS doc_length,
	   (ctid::text::point)[0] IN (SELECT (ctid::text::point)[0] FROM given WHERE owner = 'giver') AS on_a_giver_page
FROM given WHERE id IN (20, 21, 25) ORDER BY id;
SELECT * FROM layout('given');
SET enable_seqscan = off;
SELECT count(*) AS taker_rows_by_index FROM given WHERE owner = 'taker';
SELECT id FROM given WHERE id IN (20, 21, 25) ORDER BY id;
RESET enable_seqscan;
-- rolled back, the row is the giver's where it was
BEGIN;
UPDATE given SET owner = 'taker' WHERE id = 10;
ROLLBACK;
SELECT owner, (ctid::text::point)[0] IN (SELECT (ctid::text::point)[0] FROM given WHERE owner = 'giver' AND id <> 10) AS on_a_giver_page
FROM given WHERE id = 10;
-- a long owner id compressed in a wide row (kalam.user_id is MAIN) is
-- read as its owner: an update that keeps it is heap's own, not a move
-- (whose deleted version pageinspect shows marked as moved)
CREATE EXTENSION pageinspect;
CREATE FUNCTION moved_versions(t regclass) RETURNS bigint LANGUAGE sql AS $$
	SELECT count(*) FROM generate_series(0, (pg_relation_size(t) / 8192)::int - 1) b,
		heap_page_items(get_raw_page(t::text, b)) i
	WHERE i.t_ctid = '(4294967295,65533)'::tid $$;
CREATE TABLE wide_owner (owner kalam.user_id NOT NULL, n int NOT NULL, pad text) USING kalamdb;
ALTER TABLE wide_owner ALTER pad SET STORAGE PLAIN;
INSERT INTO wide_owner VALUES (repeat('a', 100)::kalam.user_id, 1, repeat('p', 7000));
SELECT pg_column_compression(owner) IS NOT NULL AS owner_compressed FROM wide_owner;
UPDATE wide_owner SET n = n + 1;
SELECT moved_versions('wide_owner') AS moved;
-- one moved out of line (the row too wide with it in): read from TOAST,
-- so that an update keeping it stays heap's, and one changing it moves
UPDATE wide_owner SET owner = left((SELECT string_agg(md5(i::text), '') FROM generate_series(1, 4) i), 120)::kalam.user_id,
	pad = (SELECT string_agg(md5((i * 7)::text), '') FROM generate_series(1, 253) i);
SELECT (xpath('/row/n/text()', query_to_xml(format('SELECT count(DISTINCT chunk_id) AS n FROM %s', reltoastrelid::regclass),
											 false, true, '')))[1]::text AS values_out_of_line
FROM pg_class WHERE oid = 'wide_owner'::regclass;
SELECT moved_versions('wide_owner') AS moved_by_the_owner_change;
UPDATE wide_owner SET n = n + 1;
SELECT moved_versions('wide_owner') AS moved_after_keeping_it;
UPDATE wide_owner SET owner = 'someone_else';
SELECT moved_versions('wide_owner') AS moved_after_giving_it;
DROP TABLE wide_owner;
DROP FUNCTION moved_versions(regclass);
DROP EXTENSION pageinspect;
-- a published table's rows stay where heap keeps them: a publication of
-- some actions only would pass on part of a move (DELETE and INSERT)
SET client_min_messages = error;
CREATE PUBLICATION given_changes FOR TABLE given WITH (publish = 'update');
RESET client_min_messages;
UPDATE given SET owner = 'taker' WHERE id = 11;
SELECT owner, (ctid::text::point)[0] IN (SELECT (ctid::text::point)[0] FROM given WHERE owner = 'giver') AS on_a_giver_page
FROM given WHERE id = 11;
DROP PUBLICATION given_changes;
VACUUM given;
CREATE EXTENSION amcheck;
SELECT count(bt_index_check(indexrelid, true)) AS indexes_checked FROM pg_index WHERE indrelid = 'given'::regclass;
DROP EXTENSION amcheck;
DROP TABLE given;

-- 6. owners with few rows share pages instead of wasting one each
CREATE TABLE small_owners (LIKE single) USING kalamdb;
CREATE TABLE small_owners_heap (LIKE single) USING heap;
INSERT INTO small_owners SELECT ('small' || (i % 500))::kalam.user_id, i, repeat('s', 100), '2026-01-01'
FROM generate_series(1, 2500) i;
INSERT INTO small_owners_heap SELECT * FROM small_owners;
SELECT * FROM layout('small_owners');
SELECT * FROM layout('small_owners_heap');

-- 7. no owner column: placed as heap places rows
CREATE TABLE no_owner (id bigint, body text) USING kalamdb;
CREATE TABLE no_owner_heap (id bigint, body text) USING heap;
INSERT INTO no_owner SELECT i, repeat('n', 100) FROM generate_series(1, 3000) i;
INSERT INTO no_owner_heap SELECT i, repeat('n', 100) FROM generate_series(1, 3000) i;
SELECT pg_relation_size('no_owner') = pg_relation_size('no_owner_heap') AS same_size;
-- NULL owners, too
CREATE TABLE null_owner (owner kalam.user_id, body text) USING kalamdb;
INSERT INTO null_owner SELECT CASE WHEN i % 2 = 0 THEN ('u' || (i % 10))::kalam.user_id END, 'x'
FROM generate_series(1, 1000) i;
SELECT count(*), count(owner) FROM null_owner;
-- ... which get pages of their own (a few may sit on a shared page first)
SELECT count(*) AS pages_with_null_and_owned_rows, coalesce(sum(nulls), 0) AS null_rows_there
FROM (SELECT (ctid::text::point)[0] AS page, count(*) FILTER (WHERE owner IS NULL) AS nulls
	  FROM null_owner GROUP BY 1
	  HAVING bool_or(owner IS NULL) AND bool_or(owner IS NOT NULL)) s;
-- temporary tables: heap's placement (their pages are the session's own)
CREATE TEMP TABLE temp_owned (LIKE single) USING kalamdb;
INSERT INTO temp_owned SELECT ('user' || (i % 50))::kalam.user_id, i, repeat('m', 100), '2026-01-01'
FROM generate_series(1, 1000) i;
SELECT count(*) FROM temp_owned;

-- 8. TRUNCATE, and VACUUM truncating the relation, leave no stale hint
TRUNCATE copied;
COPY copied FROM :'copyfile';
SELECT * FROM layout('copied');
DELETE FROM copied WHERE id > 1000;
VACUUM copied;
INSERT INTO copied SELECT ('user' || (i % 50))::kalam.user_id, i, repeat('m', 100), '2026-01-01'
FROM generate_series(1001, 3000) i;
SELECT * FROM layout('copied');

-- 9. space freed by VACUUM is reused without mixing owners
CREATE TABLE churn (LIKE single) USING kalamdb;
CREATE INDEX ON churn (owner);
INSERT INTO churn SELECT ('user' || (i % 50))::kalam.user_id, i, repeat('m', 100), '2026-01-01'
FROM generate_series(1, 3000) i;
SELECT pg_relation_size('churn') / 8192 AS pages_before;
DELETE FROM churn WHERE id % 3 = 0;
VACUUM churn;
INSERT INTO churn SELECT ('user' || (i % 50))::kalam.user_id, i, repeat('m', 100), '2026-01-01'
FROM generate_series(3001, 4000) i;
SELECT pg_relation_size('churn') / 8192 AS pages_after;
SELECT * FROM layout('churn');
-- whole owners deleted: their empty pages go to other owners, whole
DELETE FROM churn WHERE owner IN ('user1', 'user2', 'user3', 'user4', 'user5');
VACUUM churn;
INSERT INTO churn SELECT ('new' || (i % 5))::kalam.user_id, i, repeat('m', 100), '2026-01-01'
FROM generate_series(5001, 5300) i;
SELECT pg_relation_size('churn') / 8192 AS pages_after_new_owners;
SELECT * FROM layout('churn');

-- an owner whose last page was emptied by deletes fills the room freed on
-- its other pages first: it stays on as few pages as its rows need (the
-- shared page, then two of its own), and the empty page goes to others
CREATE TABLE shrink (LIKE single) USING kalamdb;
CREATE INDEX ON shrink (owner);
INSERT INTO shrink SELECT 'solo', i, repeat('m', 100), '2026-01-01' FROM generate_series(1, 120) i;
INSERT INTO shrink SELECT 'other', i, repeat('m', 100), '2026-01-01' FROM generate_series(1, 60) i;
SELECT count(DISTINCT (ctid::text::point)[0]) AS solo_pages FROM shrink WHERE owner = 'solo';
DELETE FROM shrink WHERE owner = 'solo' AND (ctid::text::point)[0] =
	(SELECT max((ctid::text::point)[0]) FROM shrink WHERE owner = 'solo');
DELETE FROM shrink WHERE owner = 'solo' AND id % 3 = 0 AND id > 5;
VACUUM shrink;
INSERT INTO shrink SELECT 'solo', i, repeat('m', 100), '2026-01-01' FROM generate_series(1001, 1010) i;
SELECT count(DISTINCT (ctid::text::point)[0]) AS solo_pages FROM shrink WHERE owner = 'solo';
SELECT * FROM layout('shrink');
DROP TABLE shrink;

-- COPY remembers its owners' pages in the session (owner_page_cache.c).
-- After a VACUUM those are not trusted: here the pages that VACUUM emptied
-- go to new owners, and the old owners' next COPY, in the same session,
-- must not follow its memory onto them.
CREATE TABLE recopied (owner kalam.user_id NOT NULL, id kalam.row_id DEFAULT kalam.new_row_id(),
					   body text, at timestamptz) USING kalamdb;
CREATE INDEX ON recopied (owner);
SELECT current_setting('data_directory') || '/kalamdb_am_recopy.copy' AS recopyfile \gset
COPY (SELECT ('old' || (i % 10))::kalam.user_id, repeat('m', 100), '2026-01-01'::timestamptz
	  FROM generate_series(1, 1500) i) TO :'recopyfile';
COPY recopied (owner, body, at) FROM :'recopyfile';
-- a last page that keeps VACUUM from truncating the emptied ones away
INSERT INTO recopied (owner, body, at) SELECT 'keeper', repeat('m', 100), '2026-01-01'
FROM generate_series(1, 100);
DELETE FROM recopied WHERE owner <> 'keeper';
VACUUM recopied;
INSERT INTO recopied (owner, body, at)
SELECT ('new' || (i % 10))::kalam.user_id, repeat('m', 100), '2026-01-01'
FROM generate_series(1, 1500) i;
COPY recopied (owner, body, at) FROM :'recopyfile';
SELECT * FROM layout('recopied');
DROP TABLE recopied;

-- an owner with rows on a shared page only, all of them deleted; VACUUM
-- empties the page and another owner takes it as its own: the first
-- owner's next row must not follow its old hint onto it
CREATE TABLE shared_gone (owner kalam.user_id NOT NULL, id int, body text) USING kalamdb;
CREATE INDEX ON shared_gone (owner);
INSERT INTO shared_gone SELECT 'big', i, repeat('m', 100) FROM generate_series(1, 200) i;
INSERT INTO shared_gone SELECT 'tiny', i, repeat('m', 100) FROM generate_series(1, 2) i;
DELETE FROM shared_gone WHERE (ctid::text::point)[0] =
	(SELECT (ctid::text::point)[0] FROM shared_gone WHERE owner = 'tiny' LIMIT 1);
VACUUM shared_gone;
-- big fills its last page, and takes the emptied one for a few rows more
INSERT INTO shared_gone SELECT 'big', i, repeat('m', 100) FROM generate_series(201, 247) i;
INSERT INTO shared_gone VALUES ('tiny', 3, repeat('m', 100));
SELECT count(*) AS big_rows_beside_tiny FROM shared_gone
WHERE owner = 'big' AND (ctid::text::point)[0] =
	(SELECT (ctid::text::point)[0] FROM shared_gone WHERE owner = 'tiny');
SELECT * FROM layout('shared_gone');
DROP TABLE shared_gone;

-- 10. TOAST: 1 MB values; the TOAST table stays heap
INSERT INTO single VALUES ('user1', 100001, repeat(md5('x'), 32768), '2026-01-01');
SELECT length(body) FROM single WHERE id = 100001;
SELECT a.amname FROM pg_class c JOIN pg_class t ON t.oid = c.reltoastrelid JOIN pg_am a ON a.oid = t.relam
WHERE c.oid = 'single'::regclass;
-- rows with values moved out to TOAST are placed by the length they have
-- then, not by their values': 60 such rows of one owner share its pages
CREATE TABLE toasted_rows (LIKE single) USING kalamdb;
INSERT INTO toasted_rows SELECT 'whale', i, string_agg(md5((i * 10000 + j)::text), ''), '2026-01-01'
FROM generate_series(1, 60) i, generate_series(1, 1000) j GROUP BY i;
SELECT count(*) AS rows, count(DISTINCT (ctid::text::point)[0]) AS pages,
	   min(length(body)) AS shortest_value FROM toasted_rows;
DROP TABLE toasted_rows;
-- their TOASTed values use the room VACUUM frees in the TOAST table, as
-- heap's do: deleting and replacing large values does not grow it
CREATE TABLE toast_churn (LIKE single) USING kalamdb;
CREATE INDEX ON toast_churn (owner);
INSERT INTO toast_churn SELECT ('whale' || i % 2)::kalam.user_id, i, string_agg(md5((i * 10000 + j)::text), ''), '2026-01-01'
FROM generate_series(1, 40) i, generate_series(1, 1000) j GROUP BY i;
SELECT pg_relation_size(reltoastrelid) AS toast_before FROM pg_class WHERE oid = 'toast_churn'::regclass \gset
DELETE FROM toast_churn WHERE id % 4 < 2;
VACUUM toast_churn;
INSERT INTO toast_churn SELECT ('whale' || i % 2)::kalam.user_id, i + 100, string_agg(md5((i * 10000 + j)::text), ''), '2026-01-02'
FROM generate_series(1, 20) i, generate_series(1, 1000) j GROUP BY i;
SELECT :toast_before > 40 * 32000 AS values_in_toast,
	pg_relation_size(reltoastrelid) <= :toast_before * 1.05 AS toast_not_grown
FROM pg_class WHERE oid = 'toast_churn'::regclass;
SELECT owner, count(*) AS rows, count(DISTINCT (ctid::text::point)[0]) AS pages
FROM toast_churn GROUP BY owner ORDER BY owner;
DROP TABLE toast_churn;

-- heap keeps a MAIN value in the row up to a page's worth: such a row is
-- placed by its full length (were it placed as if the value went out, heap
-- would find no room, and with the free space map go to owner y's page)
CREATE TABLE main_bound (owner kalam.user_id NOT NULL, n int NOT NULL, note text NOT NULL, m text) USING kalamdb;
ALTER TABLE main_bound ALTER m SET STORAGE MAIN;
CREATE INDEX ON main_bound (owner);
INSERT INTO main_bound (owner, n, note) SELECT 'x', i, 'f' FROM generate_series(1, 5) i;
INSERT INTO main_bound (owner, n, note) SELECT 'y', 100 + i, 'f' FROM generate_series(1, 8) i;
INSERT INTO main_bound (owner, n, note) SELECT 'x', 5 + i, repeat('f', 370) FROM generate_series(1, 12) i;
VACUUM main_bound;
INSERT INTO main_bound SELECT 'x', 50, 'm', string_agg(md5(i::text), '') FROM generate_series(1, 156) i;
SELECT pg_column_size(m) AS kept_in_row FROM main_bound WHERE n = 50;
SELECT count(DISTINCT owner) AS owners_on_its_page FROM main_bound
WHERE (ctid::text::point)[0] = (SELECT (ctid::text::point)[0] FROM main_bound WHERE n = 50);
DROP TABLE main_bound;
-- a MAIN value that compresses stays in the row, compressed: the row is
-- placed by the length heap's compression gives it (measured as heap
-- compresses), not by its value's, which would take a page per row;
-- updates likewise
CREATE TABLE main_compressed (owner kalam.user_id NOT NULL, doc text) USING kalamdb;
ALTER TABLE main_compressed ALTER doc SET STORAGE MAIN;
CREATE TABLE main_compressed_heap (LIKE main_compressed INCLUDING STORAGE) USING heap;
INSERT INTO main_compressed SELECT 'x', repeat('abcdefgh', 1200) FROM generate_series(1, 400);
INSERT INTO main_compressed_heap SELECT * FROM main_compressed;
SELECT pg_relation_size('main_compressed') / 8192 AS kalamdb_pages,
	   pg_relation_size('main_compressed_heap') / 8192 AS heap_pages,
	   (SELECT max(pg_column_size(doc)) FROM main_compressed) < 1000 AS compressed_in_row;
DELETE FROM main_compressed WHERE (ctid::text::point)[1]::int % 2 = 0;
DELETE FROM main_compressed_heap WHERE (ctid::text::point)[1]::int % 2 = 0;
VACUUM main_compressed;
VACUUM main_compressed_heap;
UPDATE main_compressed SET doc = doc || 'x';
UPDATE main_compressed_heap SET doc = doc || 'x';
SELECT pg_relation_size('main_compressed') / 8192 AS kalamdb_pages_updated,
	   pg_relation_size('main_compressed_heap') / 8192 AS heap_pages_updated;
DROP TABLE main_compressed, main_compressed_heap;
-- with toast_tuple_target above a row's length, heap TOASTs nothing: rows
-- of 3 kB are placed by their length, two to a page
CREATE TABLE big_target (owner kalam.user_id NOT NULL, n int NOT NULL, body text NOT NULL) USING kalamdb
WITH (toast_tuple_target = 8160);
INSERT INTO big_target SELECT 'x', i, string_agg(md5((i * 1000 + j)::text), '') FROM generate_series(1, 20) i, generate_series(1, 90) j GROUP BY i;
SELECT count(*) AS rows, count(DISTINCT (ctid::text::point)[0]) AS pages FROM big_target;
DROP TABLE big_target;
-- a wide row heap will TOAST, with one value TOAST may move (its owner
-- id) and 300 it may not: the room kept for the padding a moved value can
-- leave is that one's, not every column's, so rows fill pages as heap's do
DO $$ BEGIN
	EXECUTE (SELECT format('CREATE TABLE wide_rows (owner kalam.user_id NOT NULL, %s) USING kalamdb',
						   string_agg('c' || i || ' bigint NOT NULL DEFAULT ' || i, ', '))
			 FROM generate_series(1, 300) i);
END $$;
CREATE TABLE wide_heap (LIKE wide_rows INCLUDING DEFAULTS) USING heap;
INSERT INTO wide_rows (owner) SELECT repeat('w', 128)::kalam.user_id FROM generate_series(1, 60);
INSERT INTO wide_heap SELECT * FROM wide_rows;
SELECT pg_relation_size('wide_rows') / 8192 AS kalamdb_pages, pg_relation_size('wide_heap') / 8192 AS heap_pages;
DROP TABLE wide_rows, wide_heap;

-- 11. CREATE INDEX CONCURRENTLY, VACUUM FULL, CLUSTER, SET ACCESS METHOD
SELECT count(*) AS n, md5(string_agg(id || body, ',' ORDER BY id)) AS digest FROM single \gset before_
CREATE INDEX CONCURRENTLY single_id ON single (id);
SET enable_seqscan = off;
SELECT count(*) FROM single WHERE id BETWEEN 100 AND 199;
RESET enable_seqscan;
VACUUM FULL single;
-- rewritten densely in owner order (through the owner index): each owner's
-- rows are contiguous and share only their first and last page
SELECT * FROM layout('single');
SELECT count(*) FILTER (WHERE last - first + 1 <> pages) AS owners_not_contiguous
FROM (SELECT owner, min((ctid::text::point)[0]) AS first, max((ctid::text::point)[0]) AS last,
			 count(DISTINCT (ctid::text::point)[0]) AS pages
	  FROM single GROUP BY owner) s;
-- new rows go to pages of their own owner, not to the shared boundary pages
INSERT INTO single SELECT ('user' || (i % 50))::kalam.user_id, 200000 + i, repeat('n', 100), '2026-01-01'
FROM generate_series(1, 1000) i;
WITH r AS (SELECT owner, id, (ctid::text::point)[0] AS page FROM single),
shared AS (SELECT page FROM r GROUP BY page HAVING count(DISTINCT owner) > 1)
SELECT count(*) AS new_rows, count(*) FILTER (WHERE page IN (SELECT page FROM shared)) AS on_shared_pages
FROM r WHERE id > 200000;
DELETE FROM single WHERE id > 200000;
CLUSTER single USING single_id;
ALTER TABLE single SET ACCESS METHOD heap;
SELECT amname FROM pg_class c JOIN pg_am a ON a.oid = c.relam WHERE c.oid = 'single'::regclass;
ALTER TABLE single SET ACCESS METHOD kalamdb;
SELECT amname FROM pg_class c JOIN pg_am a ON a.oid = c.relam WHERE c.oid = 'single'::regclass;
SELECT * FROM layout('single');		-- placed again, owner by owner
SELECT count(*) = :before_n AS same_rows, md5(string_agg(id || body, ',' ORDER BY id)) = :'before_digest' AS same_data
FROM single;
ALTER TABLE heap_twin SET ACCESS METHOD kalamdb;
SELECT * FROM layout('heap_twin');

-- an index build whose expression reads another kalamdb table: that
-- table's relcache entry, built during the build (in a new session, so
-- that it is built then), keeps the kalamdb routine, and its rows are
-- placed by owner
CREATE TABLE expr_base (x int) USING kalamdb;
INSERT INTO expr_base SELECT generate_series(1, 10);
CREATE TABLE expr_read (owner kalam.user_id NOT NULL, n int, body text) USING kalamdb;
CREATE INDEX ON expr_read (owner);
CREATE FUNCTION expr_read_rows(x int) RETURNS int LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
	RETURN x + (SELECT count(*) FROM expr_read);
END $$;
\c
CREATE INDEX expr_base_f ON expr_base ((expr_read_rows(x)));
INSERT INTO expr_read SELECT ('o' || (i % 20))::kalam.user_id, i, repeat('x', 150) FROM generate_series(1, 2000) i;
SELECT owners, rows, worst_extra, mixed, bad_mixed FROM layout('expr_read');
DROP TABLE expr_base, expr_read;
DROP FUNCTION expr_read_rows(int);
-- and the table being built keeps presenting heap's routine when its own
-- relcache entry is rebuilt during the build (a GRANT on it invalidates it)
CREATE FUNCTION regrant() RETURNS void LANGUAGE plpgsql VOLATILE AS $$
BEGIN
	GRANT SELECT ON single TO PUBLIC;
	REVOKE SELECT ON single FROM PUBLIC;
END $$;
CREATE FUNCTION regrant_and_return(x bigint) RETURNS bigint LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
	PERFORM regrant();
	RETURN x;
END $$;
CREATE INDEX single_regrant ON single ((regrant_and_return(id))) WHERE id < 10;
CREATE INDEX CONCURRENTLY single_regrant_c ON single ((regrant_and_return(id) + 1)) WHERE id < 10;
DROP INDEX single_regrant, single_regrant_c;
DROP FUNCTION regrant_and_return(bigint), regrant();

-- ALTER TABLE ... DROP COLUMN of the owner column makes the next
-- kalam.user_id column the owner, on the same storage: the map's hints of
-- the old column's values are forgotten, not followed by equal values of
-- the new one
CREATE TABLE owner_dropped (a kalam.user_id, b kalam.user_id, body text) USING kalamdb;
CREATE INDEX ON owner_dropped (a);
INSERT INTO owner_dropped
SELECT ('u' || (i % 4))::kalam.user_id, ('x' || i)::kalam.user_id, repeat('z', 100)
FROM generate_series(1, 200) i;
ALTER TABLE owner_dropped DROP COLUMN a;
INSERT INTO owner_dropped
SELECT ('u' || (i % 4))::kalam.user_id, repeat('w', 100) FROM generate_series(1, 40) i;
SELECT count(*) AS bad_mixed FROM (
	SELECT page FROM (SELECT (ctid::text::point)[0] AS page, b, count(*) AS n
					  FROM owner_dropped GROUP BY 1, 2) s
	GROUP BY page
	HAVING count(*) > 1 AND max(n) > current_setting('kalam.small_owner_rows')::int) p;
DROP TABLE owner_dropped;

-- every index agrees with its table
CREATE EXTENSION amcheck;
SELECT c.relname, bt_index_check(i.indexrelid, true)
FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_class t ON t.oid = i.indrelid
JOIN pg_am a ON a.oid = t.relam
WHERE a.amname = 'kalamdb' AND t.relnamespace = 'public'::regnamespace
ORDER BY 1;

DROP TABLE single, heap_twin, ins_select, copied, copied_sorted, upserted, small_owners,
	small_owners_heap, no_owner, no_owner_heap, null_owner, churn;
DROP FUNCTION layout(regclass);
DROP EXTENSION amcheck;
