/*-------------------------------------------------------------------------
 *
 * database_guard.c
 *	  Stopping a database's kalamdb worker before the commands that need
 *	  the database to themselves: DROP DATABASE, ALTER DATABASE ... RENAME
 *	  and ... SET TABLESPACE, and CREATE DATABASE using it as the template.
 *
 * Those commands fail while any other session is connected, and the
 * worker is always connected.  A ProcessUtility hook asks it to stop, and
 * keeps the launcher from starting it again for a minute, before the
 * command runs.  (PostgreSQL does the same for autovacuum workers.)  Only
 * a role the command would let through gets that far (the database's
 * owner or a superuser; to copy a template database, any role allowed to
 * create databases): nobody else can stop the worker this way.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_database.h"
#include "commands/dbcommands.h"
#include "commands/defrem.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "storage/spin.h"
#include "tcop/utility.h"
#include "utils/acl.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "am/owner_map.h"
#include "jobs/worker_registry.h"
#include "utility_chain.h"

static ProcessUtility_hook_type prev_process_utility = NULL;

/* Whether the current role may copy database dbid, a template: CREATEDB */
static bool
may_copy_template(Oid dbid)
{
	HeapTuple	tuple;
	bool		is_template;
	bool		createdb;

	tuple = SearchSysCache1(DATABASEOID, ObjectIdGetDatum(dbid));
	if (!HeapTupleIsValid(tuple))
		return false;
	is_template = ((Form_pg_database) GETSTRUCT(tuple))->datistemplate;
	ReleaseSysCache(tuple);
	tuple = SearchSysCache1(AUTHOID, ObjectIdGetDatum(GetUserId()));
	if (!HeapTupleIsValid(tuple))
		return false;
	createdb = ((Form_pg_authid) GETSTRUCT(tuple))->rolcreatedb;
	ReleaseSysCache(tuple);
	return is_template && createdb;
}

static void
stop_database_worker(Oid dbid, bool as_template)
{
	DbWorkerSlot *slot;
	pid_t		pid = 0;

	if (!OidIsValid(dbid) || kalam_workers == NULL)
		return;
	/* only for those the command itself allows */
	if (!pg_database_ownercheck(dbid, GetUserId()) &&
		!(as_template && may_copy_template(dbid)))
		return;
	SpinLockAcquire(&kalam_workers->mutex);
	slot = worker_slot(dbid, false);
	if (slot)
	{
		/* keep the launcher away for a minute */
		slot->no_extension = true;
		slot->checked_at = GetCurrentTimestamp();
		pid = slot->pid;
	}
	SpinLockRelease(&kalam_workers->mutex);
	if (pid == 0)
		return;

	(void) kill(pid, SIGTERM);
	for (int i = 0; i < 1000; i++)		/* up to 10 seconds */
	{
		bool		gone;

		SpinLockAcquire(&kalam_workers->mutex);
		slot = worker_slot(dbid, false);
		gone = (slot == NULL || slot->pid != pid);
		SpinLockRelease(&kalam_workers->mutex);
		if (gone)
			return;
		CHECK_FOR_INTERRUPTS();
		pg_usleep(10 * 1000L);
	}
}

static void
kalam_process_utility(PlannedStmt *pstmt, const char *queryString, bool readOnlyTree,
					  ProcessUtilityContext context, ParamListInfo params,
					  QueryEnvironment *queryEnv, DestReceiver *dest, QueryCompletion *qc)
{
	Node	   *parsetree = pstmt->utilityStmt;
	const char *needed = NULL;	/* a database the command needs to itself */
	const char *moved_or_dropped = NULL;	/* one whose storage goes away */
	bool		as_template = false;	/* needed to copy it */
	Oid			dbid;

	if (IsA(parsetree, DropdbStmt))
		needed = moved_or_dropped = ((DropdbStmt *) parsetree)->dbname;
	else if (IsA(parsetree, AlterDatabaseStmt))
	{
		ListCell   *lc;

		foreach(lc, ((AlterDatabaseStmt *) parsetree)->options)
		{
			if (strcmp(((DefElem *) lfirst(lc))->defname, "tablespace") == 0)
				needed = moved_or_dropped = ((AlterDatabaseStmt *) parsetree)->dbname;
		}
	}
	else if (IsA(parsetree, RenameStmt) &&
			 ((RenameStmt *) parsetree)->renameType == OBJECT_DATABASE)
		needed = ((RenameStmt *) parsetree)->subname;
	else if (IsA(parsetree, CreatedbStmt))
	{
		ListCell   *lc;

		foreach(lc, ((CreatedbStmt *) parsetree)->options)
		{
			DefElem    *option = (DefElem *) lfirst(lc);

			if (strcmp(option->defname, "template") == 0 && option->arg)
			{
				needed = defGetString(option);
				as_template = true;
			}
		}
	}

	/* looked up once, before the command: afterwards it may be gone */
	dbid = (needed || moved_or_dropped) ?
		get_database_oid(needed ? needed : moved_or_dropped, true) : InvalidOid;
	if (needed)
		stop_database_worker(dbid, as_template);

	kalam_next_process_utility(prev_process_utility, pstmt, queryString, readOnlyTree, context,
							   params, queryEnv, dest, qc);

	/*
	 * The owner map names storage by tablespace, database and file: after
	 * a database is dropped or moved, its entries name nothing or, were it
	 * moved back, pages that may no longer exist.
	 */
	if (moved_or_dropped && OidIsValid(dbid))
		owner_map_forget_database(dbid);
}

void
install_database_guard(void)
{
	prev_process_utility = ProcessUtility_hook;
	ProcessUtility_hook = kalam_process_utility;
}
