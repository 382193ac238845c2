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

/* The query's one value ($1 oid[], $2 text[]; NULL: an empty string) as of snapshot */
static char *
result_as_of(const char *query, Datum *args, Snapshot snapshot)
{
	Oid			argtypes[2] = {OIDARRAYOID, TEXTARRAYOID};
	char	   *result;

	/* read-only: SPI reads with the snapshot pushed here */
	PushActiveSnapshot(snapshot);
	if (SPI_execute_with_args(query, 2, argtypes, args, NULL, true, 1) != SPI_OK_SELECT ||
		SPI_processed != 1)
		elog(ERROR, "could not read the catalog rows to compare");
	result = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	PopActiveSnapshot();
	return result ? result : "";
}

static void
get_args(FunctionCallInfo fcinfo, char **query, Datum *args)
{
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
		elog(ERROR, "kalam's snapshot comparisons take no NULL");
	*query = text_to_cstring(PG_GETARG_TEXT_PP(0));
	args[0] = PG_GETARG_DATUM(1);
	args[1] = PG_GETARG_DATUM(2);
}

/*
 * kalam._changed_since_snapshot(query text, objects oid[], names text[])
 * returns boolean: whether query (one row of one value; $1 the objects, $2
 * the names) gives another value as of now than as of the transaction's
 * snapshot; always false in READ COMMITTED, where each command reads anew.
 */
PG_FUNCTION_INFO_V1(kalam_changed_since_snapshot);
Datum
kalam_changed_since_snapshot(PG_FUNCTION_ARGS)
{
	char	   *query;
	Datum		args[2];
	bool		changed;

	if (!IsolationUsesXactSnapshot())
		PG_RETURN_BOOL(false);
	get_args(fcinfo, &query, args);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	changed = strcmp(result_as_of(query, args, GetTransactionSnapshot()),
					 result_as_of(query, args, GetLatestSnapshot())) != 0;
	SPI_finish();
	PG_RETURN_BOOL(changed);
}

/*
 * kalam._value_as_of_now(query text, objects oid[], names text[]) returns
 * text: the query's value as of now, whatever the transaction's snapshot
 */
PG_FUNCTION_INFO_V1(kalam_value_as_of_now);
Datum
kalam_value_as_of_now(PG_FUNCTION_ARGS)
{
	MemoryContext caller = CurrentMemoryContext;
	char	   *query;
	Datum		args[2];
	char	   *value;

	get_args(fcinfo, &query, args);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	/* (SPI_finish() frees what was read) */
	value = MemoryContextStrdup(caller, result_as_of(query, args, GetLatestSnapshot()));
	SPI_finish();
	PG_RETURN_TEXT_P(cstring_to_text(value));
}
