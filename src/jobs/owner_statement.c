/*-------------------------------------------------------------------------
 *
 * owner_statement.c
 *	  Running a job's statement on a registered table as the table's owner.
 *
 * The worker runs as the bootstrap superuser.  A registered
 * table belongs to whoever created it, and that role's triggers, rules,
 * defaults and index functions run inside every statement on the table:
 * executed as the superuser, they would hand their author its rights.  So
 * the cleanup and eviction jobs delete through kalam._execute_as_owner(),
 * which, as VACUUM and REFRESH MATERIALIZED VIEW do, switches to the
 * table's owner in a security-restricted operation, with a safe
 * search_path and without FORCE ROW LEVEL SECURITY (the job acts for every
 * user, and the table's policies would show its owner none of the
 * rows).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/relation.h"
#include "access/table.h"
#include "catalog/pg_type_d.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/rel.h"

/*
 * kalam._lock_for_job(relation oid) returns boolean: take the lock a job's
 * statement on the relation takes (RowExclusiveLock), held to the end of
 * the transaction; false if the relation is gone (by the time it is
 * locked, too).  Owner-only.
 */
PG_FUNCTION_INFO_V1(kalam_lock_for_job);
Datum
kalam_lock_for_job(PG_FUNCTION_ARGS)
{
	Relation	rel = try_relation_open(PG_GETARG_OID(0), RowExclusiveLock);

	if (rel == NULL)
		PG_RETURN_BOOL(false);
	relation_close(rel, NoLock);
	PG_RETURN_BOOL(true);
}

/*
 * kalam._execute_as_owner(relation regclass, statement text, param text)
 * returns bigint: run statement, whose $1 is param (text), as relation's
 * owner; the number of rows it processed.  Owner-only.
 */
PG_FUNCTION_INFO_V1(kalam_execute_as_owner);
Datum
kalam_execute_as_owner(PG_FUNCTION_ARGS)
{
	Oid			relid;
	char	   *statement;
	Datum		param = PG_ARGISNULL(2) ? (Datum) 0 : PG_GETARG_DATUM(2);
	Oid			param_type = TEXTOID;
	char		param_null = PG_ARGISNULL(2) ? 'n' : ' ';
	Relation	rel;
	Oid			owner;
	Oid			save_userid;
	int			save_sec_context;
	int			save_nestlevel;
	int			ret;
	uint64		processed;

	/* not STRICT, for the parameter's sake */
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("the relation and the statement cannot be NULL")));
	relid = PG_GETARG_OID(0);
	statement = text_to_cstring(PG_GETARG_TEXT_PP(1));

	/* the lock the statement will take anyway, so the owner cannot change */
	rel = table_open(relid, RowExclusiveLock);
	owner = rel->rd_rel->relowner;
	table_close(rel, NoLock);

	GetUserIdAndSecContext(&save_userid, &save_sec_context);
	SetUserIdAndSecContext(owner,
						   save_sec_context | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION | SECURITY_NOFORCE_RLS);
	save_nestlevel = NewGUCNestLevel();
	(void) set_config_option("search_path", "pg_catalog, pg_temp",
							 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE,
							 true, 0, false);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	ret = SPI_execute_with_args(statement, 1, &param_type, &param, &param_null, false, 0);
	if (ret < 0)
		elog(ERROR, "SPI_execute_with_args failed: %s", SPI_result_code_string(ret));
	processed = SPI_processed;
	SPI_finish();

	/* on error, transaction abort undoes both */
	AtEOXact_GUC(false, save_nestlevel);
	SetUserIdAndSecContext(save_userid, save_sec_context);

	PG_RETURN_INT64((int64) processed);
}
