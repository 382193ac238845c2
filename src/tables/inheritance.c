/*-------------------------------------------------------------------------
 *
 * inheritance.c
 *	  Registered tables and inheritance trees, looked at as they are now.
 *
 * Row-level security filters the rows of the table a query names, so a
 * registered table stays out of inheritance trees: kalam.register_table()
 * refuses a table in one, and an event trigger refuses CREATE or ALTER
 * TABLE that would put a registered table in one.  Both look at the
 * catalogs and at system.tables as they are at that moment, whatever the
 * transaction's snapshot: a REPEATABLE READ one would not see a child
 * made, or a registration committed, while it waited for its lock.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/indexing.h"
#include "catalog/pg_inherits.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

/* The relation, its inheritance parents and its children (catalog snapshot) */
static List *
inheritance_relatives(Oid relid)
{
	List	   *relatives;
	Relation	inherits;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tuple;

	if (!SearchSysCacheExists1(RELOID, ObjectIdGetDatum(relid)))
		return NIL;				/* gone: no relatives */
	relatives = find_inheritance_children(relid, NoLock);
	inherits = table_open(InheritsRelationId, AccessShareLock);

	ScanKeyInit(&key, Anum_pg_inherits_inhrelid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(relid));
	scan = systable_beginscan(inherits, InheritsRelidSeqnoIndexId, true, NULL, 1, &key);
	while (HeapTupleIsValid(tuple = systable_getnext(scan)))
		relatives = lappend_oid(relatives, ((Form_pg_inherits) GETSTRUCT(tuple))->inhparent);
	systable_endscan(scan);
	table_close(inherits, AccessShareLock);
	return relatives;
}

/* kalam._in_inheritance_tree(oid): whether the relation has parents or children */
PG_FUNCTION_INFO_V1(kalam_in_inheritance_tree);
Datum
kalam_in_inheritance_tree(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(inheritance_relatives(PG_GETARG_OID(0)) != NIL);
}

/*
 * kalam._registered_relative(oid) returns oid: a registered table among
 * the relation and its parents and children, if it has any (else NULL)
 */
PG_FUNCTION_INFO_V1(kalam_registered_relative);
Datum
kalam_registered_relative(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	List	   *relatives = inheritance_relatives(relid);
	Datum	   *elems;
	Datum		args[1];
	Oid			argtypes[1] = {OIDARRAYOID};
	ListCell   *lc;
	int			n = 0;
	Oid			found = InvalidOid;
	bool		isnull;

	if (relatives == NIL)
		PG_RETURN_NULL();
	relatives = lappend_oid(relatives, relid);
	elems = palloc(sizeof(Datum) * list_length(relatives));
	foreach(lc, relatives)
		elems[n++] = ObjectIdGetDatum(lfirst_oid(lc));
	args[0] = PointerGetDatum(construct_array(elems, n, OIDOID, sizeof(Oid), true, TYPALIGN_INT));

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	/* read-only: SPI reads with the snapshot pushed here, the latest */
	PushActiveSnapshot(GetLatestSnapshot());
	if (SPI_execute_with_args("SELECT relation::pg_catalog.oid FROM system.tables "
							  "WHERE relation::pg_catalog.oid OPERATOR(pg_catalog.=) ANY ($1) LIMIT 1",
							  1, argtypes, args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read system.tables");
	if (SPI_processed > 0)
		found = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1,
											   &isnull));
	PopActiveSnapshot();
	SPI_finish();
	if (!OidIsValid(found))
		PG_RETURN_NULL();
	PG_RETURN_OID(found);
}
