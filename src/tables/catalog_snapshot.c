/*-------------------------------------------------------------------------
 *
 * catalog_snapshot.c
 *	  Whether kalam's catalog changed after the transaction's snapshot.
 *
 * The event triggers that keep system.tables and system.namespaces in
 * step with DDL (kalam._follow_alters() and the others of 60_tables.sql)
 * read and write those tables with the transaction's snapshot.  In a
 * REPEATABLE READ or SERIALIZABLE transaction, a registration or a
 * namespace committed after that snapshot is invisible to them: a rename
 * or a dropped column of such a table would go unseen, and their updates
 * would miss its row.  They ask kalam._catalog_changed_since_snapshot()
 * first and fail with a serialization failure (40001), as PostgreSQL does
 * for a row changed under such a transaction: retried, it sees the row.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/snapmgr.h"

/* Every row of both tables, as one value (a count and a sum of hashes) */
#define CATALOG_FINGERPRINT \
	"SELECT count(*)::pg_catalog.text OPERATOR(pg_catalog.||) ':' OPERATOR(pg_catalog.||) " \
	"COALESCE(pg_catalog.sum(pg_catalog.hashtext(r)::pg_catalog.int8), 0)::pg_catalog.text " \
	"FROM (SELECT t::pg_catalog.text AS r FROM system.tables t " \
	"      UNION ALL SELECT n::pg_catalog.text FROM system.namespaces n) catalog_rows"

static char *
fingerprint(Snapshot snapshot)
{
	char	   *result;

	/* read-only: SPI reads with the snapshot pushed here */
	PushActiveSnapshot(snapshot);
	if (SPI_execute(CATALOG_FINGERPRINT, true, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not read kalam's catalog");
	result = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	PopActiveSnapshot();
	return result;
}

/*
 * kalam._catalog_changed_since_snapshot() returns boolean: whether
 * system.tables or system.namespaces, read as they are now, differ from
 * what the transaction's snapshot shows of them (always false in READ
 * COMMITTED, where each command reads them anew).
 */
PG_FUNCTION_INFO_V1(kalam_catalog_changed_since_snapshot);
Datum
kalam_catalog_changed_since_snapshot(PG_FUNCTION_ARGS)
{
	bool		changed;

	if (!IsolationUsesXactSnapshot())
		PG_RETURN_BOOL(false);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	changed = strcmp(fingerprint(GetTransactionSnapshot()), fingerprint(GetLatestSnapshot())) != 0;
	SPI_finish();
	PG_RETURN_BOOL(changed);
}
