/*-------------------------------------------------------------------------
 *
 * catalog_snapshot.c
 *	  Whether catalog rows changed after the transaction's snapshot.
 *
 * kalam.register_table() and the event triggers that keep system.tables
 * and system.namespaces in step with DDL (kalam._follow_alters() and the
 * others of 60_tables.sql) read with the transaction's snapshot.  In a
 * REPEATABLE READ or SERIALIZABLE transaction, what committed after that
 * snapshot is invisible to them: a registration, a namespace, the table's
 * own columns renamed or its type changed.  A rename of such a table's
 * owner column would go unseen, their updates would miss its row, and a
 * registration would record columns that are no longer there.  They ask
 * kalam._changed_since_snapshot() about the rows they rely on and fail
 * with a serialization failure (40001), as PostgreSQL does for a row
 * changed under such a transaction: retried, the transaction sees them.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type_d.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/snapmgr.h"

/* The query's one value (NULL: an empty string) as of snapshot */
static char *
result_as_of(const char *query, Datum objects, Snapshot snapshot)
{
	Oid			argtypes[1] = {OIDARRAYOID};
	char	   *result;

	/* read-only: SPI reads with the snapshot pushed here */
	PushActiveSnapshot(snapshot);
	if (SPI_execute_with_args(query, 1, argtypes, &objects, NULL, true, 1) != SPI_OK_SELECT ||
		SPI_processed != 1)
		elog(ERROR, "could not read the catalog rows to compare");
	result = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	PopActiveSnapshot();
	return result ? result : "";
}

/*
 * kalam._changed_since_snapshot(query text, objects oid[]) returns
 * boolean: whether query (one row of one value, $1 the objects) gives
 * another value as of now than as of the transaction's snapshot; always
 * false in READ COMMITTED, where each command reads anew.
 */
PG_FUNCTION_INFO_V1(kalam_changed_since_snapshot);
Datum
kalam_changed_since_snapshot(PG_FUNCTION_ARGS)
{
	char	   *query;
	Datum		objects;
	bool		changed;

	if (!IsolationUsesXactSnapshot())
		PG_RETURN_BOOL(false);
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		elog(ERROR, "kalam._changed_since_snapshot() takes no NULL");
	query = text_to_cstring(PG_GETARG_TEXT_PP(0));
	objects = PG_GETARG_DATUM(1);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	changed = strcmp(result_as_of(query, objects, GetTransactionSnapshot()),
					 result_as_of(query, objects, GetLatestSnapshot())) != 0;
	SPI_finish();
	PG_RETURN_BOOL(changed);
}
