/*-------------------------------------------------------------------------
 *
 * db_worker.c
 *	  The kalamdb worker of one database: schedules and runs jobs.
 *
 * Started by the launcher (launcher.c) for each database.  If kalamdb is
 * not installed there, it notes so in its slot and exits.  Otherwise it
 * first fails the jobs a crash left running and removes stale live
 * queries, then loops: schedule due jobs, run every runnable job, flush
 * live-query counters, sleep until kalam.job_poll_interval passes or it
 * is woken.  An error outside a job (a job's own errors are the job
 * runner's) rolls back, is logged, and the loop goes on after a pause that
 * grows with repeated errors; if the extension is dropped, the worker
 * exits.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "commands/extension.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "storage/proc.h"
#include "storage/spin.h"
#include "tcop/tcopprot.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "utils/guc.h"

#include "auth/login_failure.h"
#include "jobs/job_runner.h"
#include "jobs/worker_registry.h"
#include "kalamdb.h"
#include "live/live_routes.h"

PGDLLEXPORT void kalam_db_worker_main(Datum main_arg);

static void
release_slot(int code, Datum arg)
{
	DbWorkerSlot *slot;

	SpinLockAcquire(&kalam_workers->mutex);
	slot = worker_slot(MyDatabaseId, false);
	if (slot && slot->pid == MyProcPid)
	{
		slot->pid = 0;
		slot->proc = NULL;
	}
	SpinLockRelease(&kalam_workers->mutex);
}

/* CREATE EXTENSION commits seen in this database when this worker started */
static uint32 extension_created_at_start;

/* Take this database's slot; false if another worker holds it. */
static bool
claim_slot(void)
{
	DbWorkerSlot *slot;
	bool		claimed = false;

	pid_t		holder;

	SpinLockAcquire(&kalam_workers->mutex);
	slot = worker_slot(MyDatabaseId, true);
	holder = slot ? slot->pid : 0;
	SpinLockRelease(&kalam_workers->mutex);
	/* a holder that died without cleaning up (kill -9 restarts everything anyway) */
	if (holder != 0 && kill(holder, 0) != 0)
		holder = 0;

	SpinLockAcquire(&kalam_workers->mutex);
	slot = worker_slot(MyDatabaseId, true);
	if (slot && holder == 0 && (slot->pid == 0 || kill(slot->pid, 0) != 0))
	{
		slot->pid = MyProcPid;
		slot->proc = MyProc;
		slot->no_extension = false;
		extension_created_at_start = slot->extension_created;
		claimed = true;
	}
	SpinLockRelease(&kalam_workers->mutex);
	return claimed;
}

static bool
extension_installed(void)
{
	MemoryContext cxt = CurrentMemoryContext;
	bool		found;

	StartTransactionCommand();
	found = OidIsValid(get_extension_oid("kalamdb", true));
	CommitTransactionCommand();
	MemoryContextSwitchTo(cxt);
	return found;
}

/*
 * No kalamdb here: the launcher need not start a worker again for a while,
 * unless a CREATE EXTENSION committed since this worker looked (then at
 * once)
 */
static void
note_no_extension(void)
{
	DbWorkerSlot *slot;
	TimestampTz now = GetCurrentTimestamp();

	SpinLockAcquire(&kalam_workers->mutex);
	slot = worker_slot(MyDatabaseId, false);
	if (slot && slot->extension_created == extension_created_at_start)
	{
		slot->no_extension = true;
		slot->checked_at = now;
	}
	else if (slot)
		slot->launched_at = 0;
	SpinLockRelease(&kalam_workers->mutex);
}

static void
worker_iteration(void)
{
	int			ran = 0;

	/* failed logins first: until recorded, they block their user's logins */
	login_failures_record_queued();
	record_kept_outcomes();
	schedule_jobs();
	/* every job that can run now, but yield now and then */
	while (ran < 100 && run_next_job())
	{
		ran++;
		login_failures_record_queued();
		CHECK_FOR_INTERRUPTS();
	}
	live_flush_counters();
}

void
kalam_db_worker_main(Datum main_arg)
{
	Oid			dbid = DatumGetObjectId(main_arg);
	MemoryContext loop_cxt;
	volatile bool started = false;
	volatile int errors = 0;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnectionByOid(dbid, InvalidOid, 0);
	pgstat_report_appname("kalamdb worker");

	/* a "=" on kalam.job_status in public must not run as the superuser */
	kalam_worker_override_settings();

	if (!claim_slot())
		proc_exit(0);			/* another worker serves this database */
	before_shmem_exit(release_slot, 0);

	if (!extension_installed())
	{
		note_no_extension();
		proc_exit(0);
	}

	loop_cxt = AllocSetContextCreate(TopMemoryContext, "kalamdb worker loop",
									 ALLOCSET_DEFAULT_SIZES);
	for (;;)
	{
		long		nap = kalam_job_poll_interval;

		MemoryContextSwitchTo(loop_cxt);
		MemoryContextReset(loop_cxt);
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		if (!extension_installed())
			break;

		PG_TRY();
		{
			if (!started)
			{
				fail_interrupted_jobs(true);
				live_worker_startup();
				started = true;
			}
			else
				fail_interrupted_jobs(false);
			worker_iteration();
			errors = 0;
		}
		PG_CATCH();
		{
			/* log, roll back, and try again later, backing off */
			MemoryContextSwitchTo(loop_cxt);
			EmitErrorReport();
			FlushErrorState();
			AbortCurrentTransaction();
			LWLockReleaseAll();
			errors++;
			/* a job whose failure could not be recorded must not stay 'running' */
			started = false;
		}
		PG_END_TRY();

		if (errors > 0)
			nap = Min(60 * 1000L, 1000L << Min(errors, 6));
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 nap, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
	proc_exit(0);
}
