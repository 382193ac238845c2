
-- ---------------------------------------------------------------------
-- USER, SHARED and STREAM tables: kalam.register_table() records a table
-- in system.tables and puts its isolation in place with row-level
-- security.  DROP TABLE removes the registration (event trigger below).
-- ---------------------------------------------------------------------

-- Inheritance relations, as they are now (src/tables/inheritance.c): whether
-- a relation has parents or children, and a registered table among it and
-- them.
CREATE FUNCTION kalam._in_inheritance_tree(oid) RETURNS boolean
	AS 'MODULE_PATHNAME', 'kalam_in_inheritance_tree'
	LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE;
CREATE FUNCTION kalam._registered_relative(oid) RETURNS oid
	AS 'MODULE_PATHNAME', 'kalam_registered_relative'
	LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE;
REVOKE ALL ON FUNCTION kalam._in_inheritance_tree(oid), kalam._registered_relative(oid) FROM PUBLIC;

-- The relation's first column of a type, or NULL.
CREATE FUNCTION kalam._first_column_of_type(relation regclass, typ regtype) RETURNS name
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp AS $$
	SELECT attname FROM pg_attribute
	WHERE attrelid = relation AND attnum > 0 AND NOT attisdropped AND atttypid = typ
	ORDER BY attnum LIMIT 1
$$;

-- A USER or STREAM table's owner: its first kalam.user_id column.
CREATE FUNCTION kalam._owner_column(relation regclass) RETURNS name
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp AS $$
	SELECT kalam._first_column_of_type(relation, 'kalam.user_id')
$$;

-- A STREAM table's TTL is measured by its first timestamptz column.
CREATE FUNCTION kalam._stream_time_column(relation regclass) RETURNS name
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp AS $$
	SELECT kalam._first_column_of_type(relation, 'timestamptz')
$$;

-- A registered table's name as a kalam.table_name: it must be in
-- canonical (lower-case) form, as the table_id spells it.
CREATE FUNCTION kalam._canonical_table_name(relname name) RETURNS kalam.table_name
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	IF relname::kalam.table_name::text <> relname::text THEN
		RAISE EXCEPTION 'table name "%" is not in canonical (lower-case) form', relname
			USING ERRCODE = 'invalid_name';
	END IF;
	RETURN relname::kalam.table_name;
END $$;

-- A REPEATABLE READ transaction does not see what committed after its
-- snapshot: register_table and the event triggers below, which would miss
-- it, fail it with 40001 then (src/tables/catalog_snapshot.c), looking
-- only at the rows they rely on.  The queries, by what they read ($1: the
-- relations' OIDs, $2: namespace names).  Names of schemas and relations
-- as they are now come from pg_identify_object_as_address() (the catalog
-- caches): a REPEATABLE READ snapshot can show both an older version of a
-- catalog row and this transaction's own newer one, where another
-- transaction changed the row in between.
CREATE FUNCTION kalam._snapshot_query(what text) RETURNS text
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp AS $$
	SELECT CASE what
		-- the relations' registrations
		WHEN 'registrations' THEN
			'SELECT string_agg(t::text, '','' ORDER BY t.relation::oid) FROM system.tables t '
			'WHERE t.relation::oid = ANY ($1)'
		-- the registrations in the namespaces named
		WHEN 'namespace tables' THEN
			'SELECT string_agg(t::text, '','' ORDER BY t.relation::oid) FROM system.tables t '
			'WHERE t.namespace_id::text = ANY ($2)'
		-- the namespaces named
		WHEN 'namespaces' THEN
			'SELECT string_agg(n::text, '','' ORDER BY n.namespace_id) FROM system.namespaces n '
			'WHERE n.namespace_id::text = ANY ($2)'
		-- what register_table reads of the relations: the relation, its
		-- columns, policies, triggers, indexes and inheritance parents
		WHEN 'definitions' THEN
			'SELECT string_agg(concat_ws('':'', c.oid, c.relname, c.relnamespace, c.relkind, c.relam, '
			'c.reloftype, c.relowner, '
			'(SELECT string_agg(concat_ws('' '', a.attnum, a.attname, a.atttypid, a.attisdropped, '
			'a.attnotnull), '','' ORDER BY a.attnum) FROM pg_attribute a '
			'WHERE a.attrelid = c.oid AND a.attnum > 0), '
			'(SELECT string_agg(concat_ws('' '', p.polname, p.polpermissive, p.polcmd), '','' '
			'ORDER BY p.polname) FROM pg_policy p WHERE p.polrelid = c.oid), '
			'(SELECT string_agg(concat_ws('' '', g.tgname, g.tgfoid, g.tgenabled), '','' '
			'ORDER BY g.tgname) FROM pg_trigger g WHERE g.tgrelid = c.oid AND NOT g.tgisinternal), '
			'(SELECT string_agg(concat_ws('' '', i.indexrelid, i.indkey), '','' ORDER BY i.indexrelid) '
			'FROM pg_index i WHERE i.indrelid = c.oid), '
			'(SELECT string_agg(h.inhparent::text, '','' ORDER BY h.inhparent) FROM pg_inherits h '
			'WHERE h.inhrelid = c.oid)), '';'' ORDER BY c.oid) '
			'FROM pg_class c WHERE c.oid = ANY ($1)'
		END
$$;
CREATE FUNCTION kalam._changed_since_snapshot(query text, objects oid[], names text[]) RETURNS boolean
	AS 'MODULE_PATHNAME', 'kalam_changed_since_snapshot'
	LANGUAGE C VOLATILE PARALLEL UNSAFE;
CREATE FUNCTION kalam._value_as_of_now(query text, objects oid[], names text[]) RETURNS text
	AS 'MODULE_PATHNAME', 'kalam_value_as_of_now'
	LANGUAGE C VOLATILE PARALLEL UNSAFE;
CREATE FUNCTION kalam._serialization_failure(what text) RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	RAISE EXCEPTION 'could not serialize access due to a concurrent change of %',
		CASE what WHEN 'registrations' THEN 'a table''s registration'
				  WHEN 'namespace tables' THEN 'a table''s registration'
				  WHEN 'namespaces' THEN 'kalam''s namespaces'
				  ELSE 'the table''s definition' END
		USING ERRCODE = 'serialization_failure',
			  DETAIL = 'It committed after this transaction''s snapshot, which does not show it.',
			  HINT = 'Retry the transaction.';
END $$;
CREATE FUNCTION kalam._require_unchanged_since_snapshot(what text, objects oid[],
													   names text[] DEFAULT '{}') RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	IF kalam._changed_since_snapshot(kalam._snapshot_query(what), objects, names) THEN
		PERFORM kalam._serialization_failure(what);
	END IF;
END $$;
REVOKE ALL ON FUNCTION kalam._changed_since_snapshot(text, oid[], text[]),
	kalam._value_as_of_now(text, oid[], text[]),
	kalam._require_unchanged_since_snapshot(text, oid[], text[]) FROM PUBLIC;

-- USER tables: each row belongs to the user in the owner column.  The
-- owner defaults to the effective user; a user sees, changes, deletes and
-- inserts only their own rows; with no effective user, nothing.
--
-- SHARED tables: everyone's.  access_level public: every session reads,
-- users of role service and above write; private: service and above read
-- and write; restricted: dba and system only.  (PostgreSQL superusers
-- bypass row-level security altogether.)
--
-- STREAM tables: like USER tables, and rows older than ttl (by the table's
-- first timestamptz column) are removed by the stream eviction job.
-- The policies and triggers register_table() gives a table: its
-- permissive policies of kalamdb's names, and its triggers of kalamdb's
-- names that run kalamdb's functions (a table's own objects stay).
CREATE FUNCTION kalam._drop_registration_objects(relation regclass) RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	o name;
BEGIN
	FOR o IN SELECT polname FROM pg_policy WHERE polrelid = relation AND polpermissive
			   AND polname IN ('kalam_owner', 'kalam_read', 'kalam_insert', 'kalam_update', 'kalam_delete') LOOP
		EXECUTE format('DROP POLICY %I ON %s', o, relation);
	END LOOP;
	FOR o IN SELECT tgname FROM pg_trigger WHERE tgrelid = relation AND NOT tgisinternal
			   AND tgname IN ('kalam_live_queries', 'kalam_live_truncate', 'kalam_owner_truncates')
			   AND tgfoid IN ('kalam._live_query_trigger()'::regprocedure,
							  'kalam._owner_truncates()'::regprocedure) LOOP
		EXECUTE format('DROP TRIGGER %I ON %s', o, relation);
	END LOOP;
END $$;
REVOKE ALL ON FUNCTION kalam._drop_registration_objects(regclass) FROM PUBLIC;

CREATE FUNCTION kalam.register_table(relation regclass, table_type kalam.table_type,
									 access_level kalam.table_access DEFAULT NULL,
									 ttl interval DEFAULT NULL,
									 storage_id kalam.storage_id DEFAULT 'local')
RETURNS kalam.table_id
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	rel pg_class;
	ns kalam.namespace_id;
	tname kalam.table_name;
	id kalam.table_id;
	owner_col name;
	time_col name;
	opts jsonb;
	read_level integer;
	write_level integer;
BEGIN
	IF relation IS NULL OR table_type IS NULL THEN
		RAISE EXCEPTION 'the table and its type must not be NULL' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	SELECT * INTO rel FROM pg_class WHERE oid = relation;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'relation with OID % does not exist', relation::oid USING ERRCODE = 'undefined_table';
	END IF;
	IF NOT kalam._caller_has_privs_of(rel.relowner) THEN
		RAISE EXCEPTION 'must be owner of table %', relation
			USING ERRCODE = 'insufficient_privilege';
	END IF;
	IF rel.relkind NOT IN ('r', 'p') THEN
		RAISE EXCEPTION '"%" is not a table', relation USING ERRCODE = 'wrong_object_type';
	END IF;
	-- no inheritance child may be made meanwhile (CREATE TABLE ... INHERITS
	-- takes SHARE UPDATE EXCLUSIVE), and the check below sees any made
	-- before, whatever the transaction's snapshot
	EXECUTE format('LOCK TABLE %s IN SHARE ROW EXCLUSIVE MODE', relation);
	-- what this transaction's snapshot shows of the table is what is
	-- recorded: not older than what the lock waited for
	PERFORM kalam._require_unchanged_since_snapshot('definitions', ARRAY[relation::oid]);
	PERFORM kalam._require_unchanged_since_snapshot('registrations', ARRAY[relation::oid]);
	PERFORM kalam._require_unchanged_since_snapshot('namespaces', '{}',
		ARRAY[(pg_identify_object_as_address('pg_class'::regclass, relation, 0)).object_names[1]]);
	-- its columns would follow ALTER TYPE ... CASCADE, which no ALTER TABLE
	-- trigger sees
	IF rel.reloftype <> 0 THEN
		RAISE EXCEPTION 'table % is a typed table (OF %)', relation, rel.reloftype::regtype
			USING ERRCODE = 'feature_not_supported',
				  HINT = 'ALTER TABLE ... NOT OF first.';
	END IF;
	IF rel.relkind = 'p' OR kalam._in_inheritance_tree(relation) THEN
		RAISE EXCEPTION 'table % is partitioned, a partition, or in an inheritance tree', relation
			USING ERRCODE = 'feature_not_supported',
				  DETAIL = 'Row-level security filters the rows of the table a query names: a partition or child read directly is not filtered by its parent''s policies.';
	END IF;
	SELECT n.namespace_id INTO ns FROM system.namespaces n
	WHERE n.namespace_id::text = (SELECT nspname FROM pg_namespace WHERE oid = rel.relnamespace);
	IF ns IS NULL THEN
		RAISE EXCEPTION 'schema "%" is not a kalam namespace',
			(SELECT nspname FROM pg_namespace WHERE oid = rel.relnamespace)
			USING ERRCODE = 'invalid_schema_name',
				  HINT = 'Create tables in a namespace made with kalam.create_namespace().';
	END IF;
	tname := kalam._canonical_table_name(rel.relname);
	id := kalam.table_id(ns, tname);

	IF table_type = 'system' THEN
		RAISE EXCEPTION 'only the extension itself has system tables'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF table_type = 'shared' AND access_level IS NULL THEN
		access_level := 'public';
	ELSIF table_type <> 'shared' AND access_level IS NOT NULL THEN
		RAISE EXCEPTION 'only shared tables have an access level'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF (table_type = 'stream') <> (ttl IS NOT NULL) THEN
		RAISE EXCEPTION 'a TTL is given for stream tables, and only for them'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF ttl <= interval '0' THEN
		RAISE EXCEPTION 'a stream table''s TTL must be positive, not %', ttl
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF storage_id IS NULL THEN
		RAISE EXCEPTION 'the storage must not be NULL' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF NOT EXISTS (SELECT 1 FROM system.storages s WHERE s.storage_id = register_table.storage_id) THEN
		RAISE EXCEPTION 'storage "%" does not exist', storage_id USING ERRCODE = 'undefined_object';
	END IF;
	IF EXISTS (SELECT 1 FROM system.tables t WHERE t.relation = register_table.relation
			   OR t.table_id = id) THEN
		RAISE EXCEPTION 'table % is already registered', relation
			USING ERRCODE = 'duplicate_object';
	END IF;
	-- a table restored without its registration (pg_restore -n, -t or
	-- --schema-only: system.tables is the extension's data) still has what
	-- registering gave it: made anew below, as this registration says
	PERFORM kalam._drop_registration_objects(relation);
	-- a trigger someone else made (granted TRIGGER before) sees every user's rows
	IF EXISTS (SELECT 1 FROM pg_trigger tg JOIN pg_proc f ON f.oid = tg.tgfoid
			   JOIN pg_roles fo ON fo.oid = f.proowner
			   WHERE tg.tgrelid = relation AND NOT tg.tgisinternal
				 AND f.proowner <> rel.relowner AND NOT fo.rolsuper) THEN
		RAISE EXCEPTION 'table % has triggers that run functions of another role than its owner', relation
			USING ERRCODE = 'object_not_in_prerequisite_state',
				  DETAIL = 'A trigger sees every user''s rows as they are written.',
				  HINT = 'Drop them, or have the table''s owner own their functions, before registering.';
	END IF;
	-- permissive policies are OR-ed with kalamdb's: users would see (and
	-- change) whatever rows such a policy lets through
	IF EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = relation AND p.polpermissive) THEN
		RAISE EXCEPTION 'table % has row-level security policies of its own', relation
			USING ERRCODE = 'object_not_in_prerequisite_state',
				  DETAIL = 'A permissive policy would let users see and change rows beyond their own (or beyond the access level).',
				  HINT = 'Drop them, or make them AS RESTRICTIVE, before registering; one added afterwards widens what users see, as its maker chose.';
	END IF;

	IF table_type IN ('user', 'stream') THEN
		IF rel.relam <> (SELECT oid FROM pg_am WHERE amname = 'kalamdb') THEN
			RAISE EXCEPTION 'table % does not use the kalamdb access method', relation
				USING ERRCODE = 'wrong_object_type',
					  DETAIL = format('A %s table keeps each user''s rows on pages of their own.', table_type),
					  HINT = format('ALTER TABLE %s SET ACCESS METHOD kalamdb', relation);
		END IF;
		owner_col := kalam._owner_column(relation);
		IF owner_col IS NULL THEN
			RAISE EXCEPTION 'table % has no kalam.user_id column to own its rows', relation
				USING ERRCODE = 'invalid_table_definition';
		END IF;
		IF table_type = 'stream' THEN
			time_col := kalam._stream_time_column(relation);
			IF time_col IS NULL THEN
				RAISE EXCEPTION 'stream table % has no timestamptz column to measure its TTL by', relation
					USING ERRCODE = 'invalid_table_definition';
			END IF;
			opts := jsonb_build_object('time_column', time_col);
		END IF;

		EXECUTE format('ALTER TABLE %s ALTER COLUMN %I SET DEFAULT kalam.current_user_id(), '
					   'ALTER COLUMN %I SET NOT NULL, '
					   'ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY',
					   relation, owner_col, owner_col);
		EXECUTE format('CREATE POLICY kalam_owner ON %s USING (%I = kalam.current_user_id()) '
					   'WITH CHECK (%I = kalam.current_user_id())',
					   relation, owner_col, owner_col);
		-- The owner index serves "my rows" queries, and lets the access
		-- method find an owner's pages again after a restart.
		IF NOT EXISTS (SELECT 1 FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
					   JOIN pg_am a ON a.oid = c.relam
					   JOIN pg_attribute att ON att.attrelid = relation AND att.attname = owner_col
					   WHERE i.indrelid = relation AND i.indkey[0] = att.attnum
						 AND a.amname = 'btree') THEN
			EXECUTE format('CREATE INDEX ON %s (%I)', relation, owner_col);
		END IF;
	ELSE
		read_level := CASE access_level WHEN 'public' THEN -1 WHEN 'private' THEN 1 ELSE 2 END;
		write_level := CASE access_level WHEN 'restricted' THEN 2 ELSE 1 END;
		EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY', relation);
		EXECUTE format('CREATE POLICY kalam_read ON %s FOR SELECT USING ((SELECT kalam._caller_level()) >= %s)',
					   relation, read_level);
		EXECUTE format('CREATE POLICY kalam_insert ON %s FOR INSERT WITH CHECK ((SELECT kalam._caller_level()) >= %s)',
					   relation, write_level);
		EXECUTE format('CREATE POLICY kalam_update ON %s FOR UPDATE USING ((SELECT kalam._caller_level()) >= %s)',
					   relation, write_level);
		EXECUTE format('CREATE POLICY kalam_delete ON %s FOR DELETE USING ((SELECT kalam._caller_level()) >= %s)',
					   relation, write_level);
	END IF;

	-- changes reach live queries through these triggers
	EXECUTE format('CREATE TRIGGER kalam_live_queries AFTER INSERT OR UPDATE OR DELETE ON %s '
				   'FOR EACH ROW EXECUTE FUNCTION kalam._live_query_trigger(%L)',
				   relation, coalesce(owner_col, ''));
	EXECUTE format('CREATE TRIGGER kalam_live_truncate AFTER TRUNCATE ON %s '
				   'FOR EACH STATEMENT EXECUTE FUNCTION kalam._live_query_trigger()', relation);
	-- and only its owner empties it (see kalam._owner_truncates())
	EXECUTE format('CREATE TRIGGER kalam_owner_truncates BEFORE TRUNCATE ON %s '
				   'FOR EACH STATEMENT EXECUTE FUNCTION kalam._owner_truncates()', relation);

	INSERT INTO system.tables (table_id, namespace_id, table_name, table_type, access_level,
							   storage_id, relation, owner_column, ttl, options)
	VALUES (id, ns, tname, table_type, access_level, storage_id, relation, owner_col, ttl, opts);
	RETURN id;
END $$;

-- Undo register_table: drop its policies and the registration.
CREATE FUNCTION kalam.unregister_table(relation regclass) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	t system.tables;
BEGIN
	IF relation IS NULL THEN
		RAISE EXCEPTION 'the table must not be NULL' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF NOT EXISTS (SELECT 1 FROM pg_class WHERE oid = relation) THEN
		RAISE EXCEPTION 'relation with OID % does not exist', relation::oid USING ERRCODE = 'undefined_table';
	END IF;
	IF NOT coalesce(kalam._caller_has_privs_of((SELECT relowner FROM pg_class WHERE oid = relation)), false) THEN
		RAISE EXCEPTION 'must be owner of table %', relation USING ERRCODE = 'insufficient_privilege';
	END IF;
	-- the registration goes first: the ALTER TABLEs below are then not a
	-- registered table's (kalam._refuse_inheritance)
	DELETE FROM system.tables WHERE system.tables.relation = unregister_table.relation
	RETURNING * INTO t;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'table % is not registered', relation USING ERRCODE = 'undefined_object';
	END IF;
	PERFORM kalam._drop_registration_objects(relation);
	EXECUTE format('ALTER TABLE %s NO FORCE ROW LEVEL SECURITY, DISABLE ROW LEVEL SECURITY', relation);
	-- (a column dropped before its drop was refused leaves no default to drop)
	IF t.owner_column IS NOT NULL AND EXISTS (
			SELECT 1 FROM pg_attribute a WHERE a.attrelid = relation AND a.attname = t.owner_column
			AND a.attnum > 0 AND NOT a.attisdropped) THEN
		EXECUTE format('ALTER TABLE %s ALTER COLUMN %I DROP DEFAULT', relation, t.owner_column);
	END IF;
END $$;

-- The rows of a registered table are its users': the privileges that
-- reach past row-level security to all of them at once stay its owner's,
-- whatever was granted (GRANT ALL gives TRUNCATE and TRIGGER too).
-- TRUNCATE empties every user's rows; a trigger sees every user's rows
-- as they are written.  Run as the caller (not SECURITY DEFINER): the
-- caller is who must own the table.
CREATE FUNCTION kalam._owner_truncates() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	IF NOT pg_has_role((SELECT relowner FROM pg_class WHERE oid = TG_RELID), 'USAGE') THEN
		RAISE EXCEPTION 'must be owner of table %.% to truncate it', TG_TABLE_SCHEMA, TG_TABLE_NAME
			USING ERRCODE = 'insufficient_privilege',
				  DETAIL = 'A registered table''s rows are its users''; only its owner removes them all at once.';
	END IF;
	RETURN NULL;
END $$;

-- whether a table is registered, whoever asks (system.tables may have been
-- made unreadable to some)
CREATE FUNCTION kalam._is_registered(relation oid) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
	SELECT EXISTS (SELECT 1 FROM system.tables t WHERE t.relation::oid = $1)
$$;

CREATE FUNCTION kalam._owner_makes_triggers() RETURNS event_trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	target regclass;
BEGIN
	SELECT tg.tgrelid::regclass INTO target
	FROM pg_event_trigger_ddl_commands() c
	JOIN pg_trigger tg ON tg.oid = c.objid
	JOIN pg_class r ON r.oid = tg.tgrelid
	WHERE c.classid = 'pg_trigger'::regclass
	  AND NOT pg_has_role(r.relowner, 'USAGE')
	  AND kalam._is_registered(tg.tgrelid)
	LIMIT 1;
	IF target IS NOT NULL THEN
		RAISE EXCEPTION 'must be owner of table % to create a trigger on it', target
			USING ERRCODE = 'insufficient_privilege',
				  DETAIL = 'A trigger on a registered table sees every user''s rows.';
	END IF;
END $$;
CREATE EVENT TRIGGER kalam_owner_makes_triggers ON ddl_command_end
	WHEN TAG IN ('CREATE TRIGGER')
	EXECUTE FUNCTION kalam._owner_makes_triggers();

-- DROP TABLE drops the registration (and, by cascade, its live queries);
-- DROP SCHEMA of a namespace (CASCADE, or once empty) drops its row too.
CREATE FUNCTION kalam._forget_dropped_objects() RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	lost record;
	dropped_schemas text[];
BEGIN
	PERFORM kalam._require_unchanged_since_snapshot('registrations',
		ARRAY(SELECT d.objid FROM pg_event_trigger_dropped_objects() d
			  WHERE d.object_type IN ('table', 'table column')));
	dropped_schemas := ARRAY(SELECT d.object_name FROM pg_event_trigger_dropped_objects() d
							 WHERE d.object_type = 'schema');
	PERFORM kalam._require_unchanged_since_snapshot('namespaces', '{}', dropped_schemas);
	PERFORM kalam._require_unchanged_since_snapshot('namespace tables', '{}', dropped_schemas);
	-- a registered table's owner or time column dropped with something it
	-- depends on (DROP FUNCTION ... CASCADE of a generated column's)
	SELECT format('%I.%I', d.address_names[1], d.address_names[2]) AS relation,
		   d.address_names[3] AS col INTO lost
	FROM pg_event_trigger_dropped_objects() d
	JOIN system.tables t ON t.relation::oid = d.objid
	WHERE d.object_type = 'table column'
	  AND d.address_names[3] IN (t.owner_column, t.options->>'time_column')
	  -- (not with the table itself)
	  AND NOT EXISTS (SELECT 1 FROM pg_event_trigger_dropped_objects() whole
					  WHERE whole.objid = d.objid AND whole.object_type = 'table')
	LIMIT 1;
	IF FOUND THEN
		RAISE EXCEPTION 'column "%" of registered table % cannot be dropped', lost.col, lost.relation
			USING ERRCODE = 'dependent_objects_still_exist',
				  DETAIL = 'It is the table''s owner column, or its stream''s time column.',
				  HINT = 'Unregister the table first (kalam.unregister_table).';
	END IF;
	DELETE FROM system.tables
	WHERE relation::oid IN (SELECT objid FROM pg_event_trigger_dropped_objects()
							WHERE object_type = 'table');
	DELETE FROM system.namespaces n
	WHERE n.namespace_id::text IN (SELECT object_name FROM pg_event_trigger_dropped_objects()
								   WHERE object_type = 'schema')
	  AND NOT EXISTS (SELECT 1 FROM system.tables t WHERE t.namespace_id = n.namespace_id);
END $$;
CREATE EVENT TRIGGER kalam_forget_dropped_objects ON sql_drop
	EXECUTE FUNCTION kalam._forget_dropped_objects();

-- A registered table stays out of inheritance trees (see register_table):
-- CREATE TABLE ... INHERITS / PARTITION OF, ALTER TABLE ... INHERIT /
-- ATTACH PARTITION that would put one in are undone.
CREATE FUNCTION kalam._refuse_inheritance() RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	registered regclass;
BEGIN
	-- as they are now: in a REPEATABLE READ transaction, a registration
	-- committed while the command waited for its lock is not in its snapshot
	SELECT r.relative::regclass INTO registered
	FROM (SELECT kalam._registered_relative(c.objid) AS relative
		  FROM pg_event_trigger_ddl_commands() c
		  WHERE c.classid = 'pg_class'::regclass) r
	WHERE r.relative IS NOT NULL
	LIMIT 1;
	IF registered IS NOT NULL THEN
		RAISE EXCEPTION 'registered table % cannot be part of an inheritance tree', registered
			USING ERRCODE = 'feature_not_supported',
				  DETAIL = 'Row-level security filters the rows of the table a query names: a partition or child read directly is not filtered by its parent''s policies.';
	END IF;
END $$;
CREATE EVENT TRIGGER kalam_refuse_inheritance ON ddl_command_end
	WHEN TAG IN ('CREATE TABLE', 'ALTER TABLE', 'CREATE FOREIGN TABLE', 'ALTER FOREIGN TABLE')
	EXECUTE FUNCTION kalam._refuse_inheritance();

-- A registered table's row follows what ALTER does to the table: its
-- name and namespace (the table_id with them, and its live queries'), its
-- owner column and its STREAM time column renamed; and a namespace
-- follows its schema renamed.  What would leave the row describing what
-- is not there is refused: a move to a schema that is no namespace, a
-- name not in canonical form, the owner or time column dropped (or no
-- longer of its type), another column made the first kalam.user_id one
-- (the owner the access method and live queries go by).  PostgreSQL
-- renames a table with ALTER INDEX, VIEW, MATERIALIZED VIEW and FOREIGN
-- TABLE as well.
CREATE FUNCTION kalam._column_of_type_is(relation regclass, col name, typ regtype) RETURNS boolean
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp AS $$
	SELECT EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = relation AND a.attname = col
				   AND a.attnum > 0 AND NOT a.attisdropped AND a.atttypid = typ)
$$;

-- The column this command renamed (RENAME COLUMN reports its number), if of typ
CREATE FUNCTION kalam._renamed_column(relation regclass, typ regtype) RETURNS name
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp AS $$
	SELECT a.attname FROM pg_event_trigger_ddl_commands() c
	JOIN pg_attribute a ON a.attrelid = c.objid AND a.attnum = c.objsubid
	WHERE c.classid = 'pg_class'::regclass AND c.objid = relation AND c.objsubid > 0
	  AND NOT a.attisdropped AND a.atttypid = typ
	LIMIT 1
$$;

-- A registered table's column the registration names (its owner or time
-- column, what: which), as it is now: renamed by this command, followed;
-- dropped or of another type, refused
CREATE FUNCTION kalam._followed_column(relation regclass, col name, typ regtype, what text)
RETURNS name
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	renamed name;
BEGIN
	IF kalam._column_of_type_is(relation, col, typ) THEN
		RETURN col;
	END IF;
	renamed := kalam._renamed_column(relation, typ);
	IF renamed IS NULL THEN
		RAISE EXCEPTION 'the % column "%" of % % cannot be dropped or changed', what, col,
			CASE what WHEN 'time' THEN 'stream table' ELSE 'registered table' END, relation
			USING ERRCODE = 'dependent_objects_still_exist',
				  DETAIL = CASE what WHEN 'time' THEN 'The stream''s TTL is measured by it.'
									 ELSE 'Row-level security and placement go by it.' END,
				  HINT = 'Unregister the table first (kalam.unregister_table).';
	END IF;
	RETURN renamed;
END $$;

-- Which schemas are namespaces, by OID, as an ALTER SCHEMA starts: at its
-- end, a namespace's schema is known by its OID under its new name.  (No
-- OID is kept in system.namespaces: neither pg_dump nor pg_upgrade keeps a
-- schema's.)
CREATE FUNCTION kalam._note_namespace_schemas() RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	-- as of now, whatever the transaction's snapshot shows
	PERFORM set_config('kalamdb.namespace_schemas',
					   kalam._value_as_of_now(
						   'SELECT coalesce(jsonb_object_agg(s.oid::text, n.namespace_id::text), ''{}'') '
						   'FROM system.namespaces n JOIN pg_namespace s ON s.nspname = n.namespace_id::text',
						   '{}', '{}'),
					   true);
END $$;
CREATE EVENT TRIGGER kalam_note_namespace_schemas ON ddl_command_start
	WHEN TAG IN ('ALTER SCHEMA')
	EXECUTE FUNCTION kalam._note_namespace_schemas();

CREATE FUNCTION kalam._follow_alters() RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	schema_oid oid;
	tables oid[];
	old_name text;
	ns_row system.namespaces;
	new_name name;
	new_ns kalam.namespace_id;
	t record;
	ns kalam.namespace_id;
	tname kalam.table_name;
	col name;
	owner_col name;
BEGIN
	tables := ARRAY(SELECT c.objid FROM pg_event_trigger_ddl_commands() c
					WHERE c.classid = 'pg_class'::regclass);
	PERFORM kalam._require_unchanged_since_snapshot('registrations', tables);
	-- (the registrations this snapshot shows of them are the current ones)
	-- the namespaces of their schemas as they are now (object addresses are
	-- read through the catalog caches: a REPEATABLE READ snapshot can show
	-- an older version of a row this transaction changed after another)
	PERFORM kalam._require_unchanged_since_snapshot('namespaces', '{}',
		ARRAY(SELECT (pg_identify_object_as_address('pg_class'::regclass, tb.relation, 0)).object_names[1]
			  FROM system.tables tb WHERE tb.relation::oid = ANY (tables)));
	-- a namespace's schema renamed (kalam._note_namespace_schemas() saw it
	-- under its old name)
	FOR schema_oid IN SELECT c.objid FROM pg_event_trigger_ddl_commands() c
					  WHERE c.classid = 'pg_namespace'::regclass LOOP
		old_name := current_setting('kalamdb.namespace_schemas', true)::jsonb ->> schema_oid::text;
		new_name := (pg_identify_object_as_address('pg_namespace'::regclass, schema_oid, 0)).object_names[1];
		CONTINUE WHEN old_name IS NULL OR new_name = old_name;
		PERFORM kalam._require_unchanged_since_snapshot('namespace tables', '{}', ARRAY[old_name]);
		SELECT n.* INTO ns_row FROM system.namespaces n WHERE n.namespace_id::text = old_name;
		IF NOT FOUND THEN
			-- made after this transaction's snapshot
			PERFORM kalam._serialization_failure('namespaces');
		END IF;
		BEGIN
			new_ns := new_name::kalam.namespace_id;
		EXCEPTION WHEN others THEN
			new_ns := NULL;
		END;
		IF new_ns IS NULL OR new_ns::text <> new_name THEN
			RAISE EXCEPTION 'namespace "%" cannot be renamed to "%"', ns_row.namespace_id, new_name
				USING ERRCODE = 'invalid_name',
					  DETAIL = 'A namespace name is in canonical (lower-case) form.';
		END IF;
		PERFORM kalam._refuse_reserved_namespace(new_ns);
		INSERT INTO system.namespaces (namespace_id, options, created_at, created_by)
		VALUES (new_ns, ns_row.options, ns_row.created_at, ns_row.created_by);
		UPDATE system.tables SET namespace_id = new_ns, table_id = kalam.table_id(new_ns, table_name),
			updated_at = now()
		WHERE namespace_id = ns_row.namespace_id;
		DELETE FROM system.namespaces WHERE namespace_id = ns_row.namespace_id;
		-- writers' live payloads name the table by its id
		PERFORM kalam._live_table_renamed(tb.relation)
		FROM system.tables tb WHERE tb.namespace_id = new_ns;
		PERFORM kalam._audit('namespace.rename', NULL, new_ns::text,
							 jsonb_build_object('from', ns_row.namespace_id));
	END LOOP;

	FOR t IN SELECT tb.table_id, tb.namespace_id, tb.table_name, tb.table_type, tb.relation,
					tb.owner_column, tb.options, a.object_names[2] AS relname,
					a.object_names[1] AS nspname,
					EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = tb.relation AND c.reloftype <> 0) AS typed
			 FROM system.tables tb,
				  LATERAL pg_identify_object_as_address('pg_class'::regclass, tb.relation, 0) a
			 WHERE tb.relation::oid = ANY (tables) LOOP
		IF t.typed THEN
			RAISE EXCEPTION 'registered table % cannot become a typed table', t.relation
				USING ERRCODE = 'feature_not_supported',
					  DETAIL = 'Its columns would follow ALTER TYPE ... CASCADE, past its registration.';
		END IF;
		IF t.nspname <> t.namespace_id::text OR t.relname <> t.table_name::text THEN
			SELECT n.namespace_id INTO ns FROM system.namespaces n WHERE n.namespace_id::text = t.nspname;
			IF ns IS NULL THEN
				RAISE EXCEPTION 'registered table % cannot leave the kalam namespaces', t.relation
					USING ERRCODE = 'invalid_schema_name',
						  HINT = 'Move it to a namespace made with kalam.create_namespace(), or unregister it first.';
			END IF;
			tname := kalam._canonical_table_name(t.relname);
			UPDATE system.tables SET namespace_id = ns, table_name = tname,
				table_id = kalam.table_id(ns, tname), updated_at = now()
			WHERE relation = t.relation;
		END IF;
		IF t.owner_column IS NOT NULL THEN
			owner_col := kalam._followed_column(t.relation, t.owner_column, 'kalam.user_id', 'owner');
			IF owner_col <> t.owner_column THEN
				UPDATE system.tables SET owner_column = owner_col, updated_at = now()
				WHERE relation = t.relation;
			END IF;
			IF kalam._owner_column(t.relation) IS DISTINCT FROM owner_col THEN
				RAISE EXCEPTION 'the owner column "%" of registered table % must stay its first kalam.user_id column',
					owner_col, t.relation
					USING ERRCODE = 'invalid_table_definition',
						  DETAIL = 'The access method and live queries take the first kalam.user_id column for the owner.';
			END IF;
		END IF;
		IF t.table_type = 'stream' THEN
			col := kalam._followed_column(t.relation, t.options->>'time_column', 'timestamptz', 'time');
			IF col <> t.options->>'time_column' THEN
				UPDATE system.tables SET options = jsonb_set(options, '{time_column}', to_jsonb(col::text)),
					updated_at = now()
				WHERE relation = t.relation;
			END IF;
		END IF;
	END LOOP;
END $$;
CREATE EVENT TRIGGER kalam_follow_alters ON ddl_command_end
	WHEN TAG IN ('ALTER TABLE', 'ALTER SCHEMA', 'ALTER INDEX', 'ALTER VIEW',
				 'ALTER MATERIALIZED VIEW', 'ALTER FOREIGN TABLE')
	EXECUTE FUNCTION kalam._follow_alters();

REVOKE ALL ON FUNCTION kalam._follow_alters(), kalam._note_namespace_schemas() FROM PUBLIC;
REVOKE ALL ON FUNCTION kalam.register_table(regclass, kalam.table_type, kalam.table_access, interval, kalam.storage_id) FROM PUBLIC;
REVOKE ALL ON FUNCTION kalam.unregister_table(regclass) FROM PUBLIC;
REVOKE ALL ON FUNCTION kalam._forget_dropped_objects() FROM PUBLIC;
REVOKE ALL ON FUNCTION kalam._refuse_inheritance() FROM PUBLIC;
REVOKE ALL ON FUNCTION kalam._is_registered(oid) FROM PUBLIC;
-- (kalam._is_registered() is for everyone: any role's CREATE TRIGGER asks it)
GRANT EXECUTE ON FUNCTION kalam.register_table(regclass, kalam.table_type, kalam.table_access, interval, kalam.storage_id),
	kalam.unregister_table(regclass), kalam._is_registered(oid) TO PUBLIC;
