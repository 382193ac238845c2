-- bench/locality: helpers.  Every layout gets the same schema and data:
-- rows of about 150 bytes (owner, row id, text, timestamp).

CREATE EXTENSION IF NOT EXISTS kalamdb;

-- make_table(name, layout): heap | heap_clustered | heap_partitioned | kalamdb
CREATE FUNCTION make_table(name text, layout text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE format('CREATE TABLE %I (owner kalam.user_id NOT NULL, id kalam.row_id NOT NULL DEFAULT kalam.new_row_id(), '
				   'body text NOT NULL, at timestamptz NOT NULL DEFAULT now()) %s',
				   name, CASE layout WHEN 'kalamdb' THEN 'USING kalamdb'
									 WHEN 'heap_partitioned' THEN 'PARTITION BY HASH (owner)'
									 ELSE 'USING heap' END);
	IF layout = 'heap_partitioned' THEN
		FOR p IN 0..15 LOOP
			EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES WITH (MODULUS 16, REMAINDER %s)',
						   name || '_p' || p, name, p);
		END LOOP;
	END IF;
	EXECUTE format('CREATE INDEX %I ON %I (owner)', name || '_owner', name);
	-- one-row-per-statement loaders with cached plans
	EXECUTE format($f$
		CREATE PROCEDURE %I(owners int, rows_per_owner int, first int DEFAULT 0) LANGUAGE plpgsql AS $p$
		BEGIN
			FOR r IN 1..rows_per_owner LOOP
				FOR o IN 1..owners LOOP
					INSERT INTO %I (owner, body) VALUES (('u' || (first + o))::kalam.user_id, repeat('b', 100));
				END LOOP;
			END LOOP;
		END $p$ $f$, 'load_' || name, name);
END $$;

-- layout(t): how the rows of each owner lie on pages
CREATE FUNCTION layout(t regclass, OUT rows bigint, OUT owners bigint, OUT pages bigint,
					   OUT pages_per_owner numeric, OUT min_pages_per_owner numeric,
					   OUT worst_extra bigint, OUT owners_per_page numeric, OUT size_bytes bigint)
LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE format($q$
		WITH r AS (
			SELECT owner, tableoid, (ctid::text::point)[0]::bigint AS page,
				   (pg_column_size(x.*) + 7) / 8 * 8 + 4 AS bytes
			FROM %s x),
		o AS (
			SELECT owner, count(DISTINCT (tableoid, page)) AS pages,
				   ceil(sum(bytes) / 8168.0) AS need
			FROM r GROUP BY owner),
		p AS (
			SELECT tableoid, page, count(DISTINCT owner) AS owners FROM r GROUP BY 1, 2)
		SELECT (SELECT count(*) FROM r), (SELECT count(*) FROM o),
			   (SELECT count(*) FROM p),
			   (SELECT round(avg(pages), 2) FROM o), (SELECT round(avg(need), 2) FROM o),
			   (SELECT max(pages - need)::bigint FROM o),
			   (SELECT round(avg(owners), 2) FROM p),
			   (SELECT sum(pg_relation_size(c)) FROM (SELECT %L::regclass AS c UNION ALL
					SELECT inhrelid FROM pg_inherits WHERE inhparent = %L::regclass) s)
	$q$, t, t, t) INTO rows, owners, pages, pages_per_owner, min_pages_per_owner,
						  worst_extra, owners_per_page, size_bytes;
END $$;

-- owner_pages(t): the pages holding each owner's rows now
CREATE FUNCTION owner_pages(t regclass) RETURNS TABLE (owner kalam.user_id, pages bigint)
LANGUAGE plpgsql AS $$
BEGIN
	RETURN QUERY EXECUTE format(
		'SELECT owner, count(DISTINCT (tableoid, (ctid::text::point)[0])) FROM %s GROUP BY owner', t);
END $$;

-- extra_beyond_kept(t, kept): the most pages any owner has beyond both the
-- minimum its rows need and the pages its rows already held (kept, saved
-- with owner_pages() before the inserts): deleted rows leave the
-- survivors where they are, so only pages beyond those are placement's.
CREATE FUNCTION extra_beyond_kept(t regclass, kept regclass) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
	result bigint;
BEGIN
	EXECUTE format($q$
		WITH r AS (
			SELECT owner, (pg_column_size(x.*) + 7) / 8 * 8 + 4 AS bytes FROM %s x),
		need AS (SELECT owner, ceil(sum(bytes) / 8168.0)::bigint AS need FROM r GROUP BY owner)
		SELECT max(now.pages - greatest(need.need, coalesce(kept.pages, 0)))
		FROM owner_pages(%L) now JOIN need USING (owner) LEFT JOIN %s kept USING (owner)
	$q$, t, t, kept) INTO result;
	RETURN result;
END $$;

-- buffers(t, n): buffers touched by "all rows of one owner", averaged over
-- n owners, from EXPLAIN (ANALYZE, BUFFERS)
CREATE FUNCTION buffers(t regclass, n int) RETURNS numeric LANGUAGE plpgsql AS $$
DECLARE
	plan json;
	total bigint := 0;
	owner kalam.user_id;
BEGIN
	FOR owner IN EXECUTE format('SELECT DISTINCT owner FROM %s ORDER BY owner LIMIT %s', t, n) LOOP
		EXECUTE format('EXPLAIN (ANALYZE, BUFFERS, TIMING OFF, FORMAT JSON) SELECT * FROM %s WHERE owner = %L', t, owner)
			INTO plan;
		total := total + (plan->0->'Plan'->>'Shared Hit Blocks')::bigint
					   + (plan->0->'Plan'->>'Shared Read Blocks')::bigint;
	END LOOP;
	RETURN round(total::numeric / n, 1);
END $$;

-- timed(sql): run a statement, return its server-side time in ms
CREATE FUNCTION timed(sql text) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE
	t0 timestamptz := clock_timestamp();
BEGIN
	EXECUTE sql;
	RETURN extract(epoch FROM clock_timestamp() - t0) * 1000;
END $$;
