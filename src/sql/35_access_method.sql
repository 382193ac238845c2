
-- ---------------------------------------------------------------------
-- The kalamdb table access method: heap, with each row placed on a page
-- of its owner (the table's first kalam.user_id column).
-- ---------------------------------------------------------------------

CREATE FUNCTION kalam.kalamdb_am_handler(internal) RETURNS table_am_handler
	AS 'MODULE_PATHNAME', 'kalam_kalamdb_am_handler'
	LANGUAGE C;
CREATE ACCESS METHOD kalamdb TYPE TABLE HANDLER kalam.kalamdb_am_handler;
COMMENT ON ACCESS METHOD kalamdb IS
	'heap storage that keeps each owner''s rows on pages of their own';

-- Gather the rows of owners whose rows lie on more pages than they need
-- (src/am/compaction.c); the table's owner only, in EXCLUSIVE mode.
CREATE FUNCTION kalam.compact(relation regclass) RETURNS bigint
	AS 'MODULE_PATHNAME', 'kalam_compact'
	LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION kalam.compact(regclass) IS
	'moves rows of owners whose rows lie on more pages than they need onto their fullest own pages; returns the rows moved';
