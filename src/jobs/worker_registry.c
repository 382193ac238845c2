/*-------------------------------------------------------------------------
 *
 * worker_registry.c
 *	  Shared state of the kalamdb background workers, their settings, and
 *	  the SQL-callable functions that wake them.
 *
 * A launcher (a static background worker, see launcher.c) starts one
 * worker (db_worker.c) per database that has the extension.  Each database
 * has a slot here: the pid and latch of its worker, and whether the last
 * worker found no extension there (so that the launcher does not keep
 * starting workers for databases that do not use kalamdb).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "postmaster/bgworker.h"
#include "storage/latch.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/guc.h"
#include "utils/timestamp.h"

#include "jobs/worker_registry.h"
#include "kalamdb.h"

WorkerRegistry *kalam_workers = NULL;

int			kalam_job_poll_interval = 1000;
int			kalam_user_cleanup_interval = 3600;
int			kalam_user_cleanup_grace_period = 30 * 24 * 3600;
int			kalam_job_cleanup_interval = 24 * 3600;
int			kalam_job_retention_completed = 30 * 24 * 3600;
int			kalam_job_retention_failed = 90 * 24 * 3600;
int			kalam_stream_eviction_interval = 60;
int			kalam_live_query_cleanup_interval = 60;
int			kalam_compact_interval = 0;
int			kalam_job_lock_timeout = 5000;

static bool start_worker_at_commit = false;

Size
worker_registry_shmem_size(void)
{
	return MAXALIGN(sizeof(WorkerRegistry));
}

void
worker_registry_shmem_init(void)
{
	bool		found;

	kalam_workers = ShmemInitStruct("kalamdb workers", sizeof(WorkerRegistry), &found);
	if (!found)
	{
		memset(kalam_workers, 0, sizeof(WorkerRegistry));
		SpinLockInit(&kalam_workers->mutex);
	}
}

DbWorkerSlot *
worker_slot(Oid dbid, bool create)
{
	DbWorkerSlot *free_slot = NULL;

	for (int i = 0; i < MAX_DB_WORKERS; i++)
	{
		DbWorkerSlot *slot = &kalam_workers->slots[i];

		if (slot->dbid == dbid)
			return slot;
		if (free_slot == NULL && !OidIsValid(slot->dbid))
			free_slot = slot;
	}
	/* full: reuse the slot of a database found without the extension */
	for (int i = 0; create && free_slot == NULL && i < MAX_DB_WORKERS; i++)
	{
		DbWorkerSlot *slot = &kalam_workers->slots[i];

		if (slot->pid == 0 && slot->no_extension)
			free_slot = slot;
	}
	if (create && free_slot)
	{
		memset(free_slot, 0, sizeof(DbWorkerSlot));
		free_slot->dbid = dbid;
	}
	return create ? free_slot : NULL;
}

void
wake_launcher(void)
{
	PGPROC	   *launcher;

	SpinLockAcquire(&kalam_workers->mutex);
	launcher = kalam_workers->launcher;
	SpinLockRelease(&kalam_workers->mutex);
	if (launcher)
		SetLatch(&launcher->procLatch);
}

void
register_launcher(void)
{
	BackgroundWorker worker;

	kalam_worker_template(&worker, "kalam_launcher_main", "kalamdb launcher");
	worker.bgw_restart_time = 5;
	RegisterBackgroundWorker(&worker);
}

void
define_worker_gucs(void)
{
	DefineCustomIntVariable("kalam.job_poll_interval",
							"How often the kalamdb worker looks for jobs (it is also woken by new jobs).",
							NULL, &kalam_job_poll_interval,
							1000, 10, 3600 * 1000, PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("kalam.user_cleanup_interval",
							"How often a user cleanup job is scheduled (0: never).",
							NULL, &kalam_user_cleanup_interval,
							3600, 0, INT_MAX, PGC_SIGHUP, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomIntVariable("kalam.user_cleanup_grace_period",
							"How long a soft-deleted user is kept before user cleanup removes it and its rows.",
							NULL, &kalam_user_cleanup_grace_period,
							30 * 24 * 3600, 0, INT_MAX, PGC_SIGHUP, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomIntVariable("kalam.job_cleanup_interval",
							"How often a job retention job is scheduled (0: never).",
							NULL, &kalam_job_cleanup_interval,
							24 * 3600, 0, INT_MAX, PGC_SIGHUP, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomIntVariable("kalam.job_retention_completed",
							"How long completed jobs are kept in system.jobs.",
							NULL, &kalam_job_retention_completed,
							30 * 24 * 3600, 0, INT_MAX, PGC_SIGHUP, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomIntVariable("kalam.job_retention_failed",
							"How long failed and cancelled jobs are kept in system.jobs.",
							NULL, &kalam_job_retention_failed,
							90 * 24 * 3600, 0, INT_MAX, PGC_SIGHUP, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomIntVariable("kalam.stream_eviction_interval",
							"How often a STREAM eviction job is scheduled (0: never).",
							NULL, &kalam_stream_eviction_interval,
							60, 0, INT_MAX, PGC_SIGHUP, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomIntVariable("kalam.live_query_cleanup_interval",
							"How often stale live queries are looked for (0: never).",
							NULL, &kalam_live_query_cleanup_interval,
							60, 0, INT_MAX, PGC_SIGHUP, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomIntVariable("kalam.job_lock_timeout",
							"How long a job step of the kalamdb worker waits for a lock (0: as long as it takes).",
							"A step that times out (rows held by a transaction left open) fails, and its job "
							"is retried, rather than hold up every other job and the recording of failed logins.",
							&kalam_job_lock_timeout,
							5000, 0, INT_MAX, PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("kalam.compact_interval",
							"How often a compact job is scheduled on every kalamdb USER and STREAM table (0: never).",
							"Compaction holds each table's lock in EXCLUSIVE mode while it works: "
							"writes to the table wait.",
							&kalam_compact_interval,
							0, 0, INT_MAX, PGC_SIGHUP, GUC_UNIT_S, NULL, NULL, NULL);
}

void
wake_db_worker(Oid dbid)
{
	DbWorkerSlot *slot;
	PGPROC	   *proc = NULL;

	SpinLockAcquire(&kalam_workers->mutex);
	slot = worker_slot(dbid, false);
	if (slot && slot->pid != 0)
		proc = slot->proc;
	SpinLockRelease(&kalam_workers->mutex);
	if (proc)
		SetLatch(&proc->procLatch);
}

/*
 * kalam._wake_worker(): new work for this database's worker.
 */
PG_FUNCTION_INFO_V1(kalam_wake_worker);
Datum
kalam_wake_worker(PG_FUNCTION_ARGS)
{
	kalam_require_preload("kalam._wake_worker()");
	wake_db_worker(MyDatabaseId);
	PG_RETURN_VOID();
}

static void
start_worker_xact_callback(XactEvent event, void *arg)
{
	if (!start_worker_at_commit)
		return;
	if (event == XACT_EVENT_COMMIT)
	{
		DbWorkerSlot *slot;

		SpinLockAcquire(&kalam_workers->mutex);
		slot = worker_slot(MyDatabaseId, true);
		if (slot)
		{
			slot->no_extension = false;
			slot->launched_at = 0;	/* start it now */
			slot->extension_created++;
		}
		SpinLockRelease(&kalam_workers->mutex);
		wake_launcher();
	}
	if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT)
		start_worker_at_commit = false;
}

/*
 * kalam._start_worker(): called by CREATE EXTENSION; once it commits, the
 * launcher starts this database's worker.
 */
PG_FUNCTION_INFO_V1(kalam_start_worker);
Datum
kalam_start_worker(PG_FUNCTION_ARGS)
{
	static bool callback_registered = false;

	kalam_require_preload("kalam._start_worker()");
	if (!callback_registered)
	{
		RegisterXactCallback(start_worker_xact_callback, NULL);
		callback_registered = true;
	}
	start_worker_at_commit = true;
	PG_RETURN_VOID();
}
