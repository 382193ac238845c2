/*-------------------------------------------------------------------------
 *
 * launcher.c
 *	  The kalamdb launcher: a background worker, started with the server,
 *	  that starts one kalamdb worker (db_worker.c) per database that has
 *	  the extension.
 *
 * It connects to no database (it reads pg_database, a shared catalog),
 * looks every kalam.job_poll_interval * 10 (or when woken, e.g. by CREATE
 * EXTENSION) for databases without a running worker, and starts one.  A
 * worker that finds no extension in its database says so in its slot and
 * exits; the launcher then leaves that database alone for a minute.  A
 * worker that stops for any other reason is started again, at most every
 * ten seconds.  After a crash the postmaster restarts the launcher, which
 * starts the workers again.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/pg_database.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/spin.h"
#include "tcop/tcopprot.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "jobs/worker_registry.h"
#include "kalamdb.h"

#define NO_EXTENSION_RECHECK_MS		(60 * 1000)
#define RELAUNCH_DELAY_MS			(10 * 1000)

PGDLLEXPORT void kalam_launcher_main(Datum main_arg);

static void
launcher_exit(int code, Datum arg)
{
	SpinLockAcquire(&kalam_workers->mutex);
	if (kalam_workers->launcher == MyProc)
		kalam_workers->launcher = NULL;
	SpinLockRelease(&kalam_workers->mutex);
}

/* The databases a worker may serve: connectable, not templates. */
static List *
list_databases(MemoryContext cxt)
{
	List	   *result = NIL;
	Relation	rel;
	TableScanDesc scan;
	HeapTuple	tuple;

	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	rel = table_open(DatabaseRelationId, AccessShareLock);
	scan = table_beginscan_catalog(rel, 0, NULL);
	while ((tuple = heap_getnext(scan, ForwardScanDirection)) != NULL)
	{
		Form_pg_database db = (Form_pg_database) GETSTRUCT(tuple);

		if (db->datallowconn && !db->datistemplate)
		{
			MemoryContext old = MemoryContextSwitchTo(cxt);

			result = lappend_oid(result, db->oid);
			MemoryContextSwitchTo(old);
		}
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);
	PopActiveSnapshot();
	CommitTransactionCommand();
	/* commit leaves us in TopMemoryContext; allocate in the loop's again */
	MemoryContextSwitchTo(cxt);
	return result;
}

static void
launch_worker(Oid dbid)
{
	BackgroundWorker worker;
	BackgroundWorkerHandle *handle;

	/* the launcher, not the postmaster, starts it again if it stops */
	kalam_worker_template(&worker, "kalam_db_worker_main", "kalamdb worker");
	snprintf(worker.bgw_name, BGW_MAXLEN, "kalamdb worker for database %u", dbid);
	worker.bgw_main_arg = ObjectIdGetDatum(dbid);
	worker.bgw_notify_pid = MyProcPid;

	if (!RegisterDynamicBackgroundWorker(&worker, &handle))
		ereport(WARNING,
				(errmsg("could not start the kalamdb worker for database %u", dbid),
				 errhint("Consider increasing max_worker_processes.")));
}

static void
launch_missing_workers(MemoryContext cxt)
{
	List	   *dbs = list_databases(cxt);
	ListCell   *lc;
	TimestampTz now = GetCurrentTimestamp();

	foreach(lc, dbs)
	{
		Oid			dbid = lfirst_oid(lc);
		DbWorkerSlot *slot;
		bool		launch = false;

		SpinLockAcquire(&kalam_workers->mutex);
		slot = worker_slot(dbid, true);
		if (slot && slot->pid == 0 &&
			!(slot->launched_at != 0 &&
			  !TimestampDifferenceExceeds(slot->launched_at, now, RELAUNCH_DELAY_MS)) &&
			!(slot->no_extension &&
			  !TimestampDifferenceExceeds(slot->checked_at, now, NO_EXTENSION_RECHECK_MS)))
		{
			slot->launched_at = now;
			launch = true;
		}
		SpinLockRelease(&kalam_workers->mutex);
		if (launch)
			launch_worker(dbid);
	}

	/* forget databases dropped (or made templates) since */
	SpinLockAcquire(&kalam_workers->mutex);
	for (int i = 0; i < MAX_DB_WORKERS; i++)
	{
		DbWorkerSlot *slot = &kalam_workers->slots[i];

		if (OidIsValid(slot->dbid) && slot->pid == 0 &&
			!list_member_oid(dbs, slot->dbid))
			slot->dbid = InvalidOid;
	}
	SpinLockRelease(&kalam_workers->mutex);
	list_free(dbs);
}

void
kalam_launcher_main(Datum main_arg)
{
	MemoryContext loop_cxt;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, SignalHandlerForShutdownRequest);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(NULL, NULL, 0);
	pgstat_report_appname("kalamdb launcher");

	SpinLockAcquire(&kalam_workers->mutex);
	kalam_workers->launcher = MyProc;
	SpinLockRelease(&kalam_workers->mutex);
	before_shmem_exit(launcher_exit, 0);

	loop_cxt = AllocSetContextCreate(TopMemoryContext, "kalamdb launcher", ALLOCSET_DEFAULT_SIZES);
	while (!ShutdownRequestPending)
	{
		MemoryContextSwitchTo(loop_cxt);
		MemoryContextReset(loop_cxt);
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		launch_missing_workers(loop_cxt);

		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 Max(kalam_job_poll_interval * 10, 1000), PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
	/* not 0: the postmaster starts a terminated launcher again */
	proc_exit(1);
}
