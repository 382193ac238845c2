/*-------------------------------------------------------------------------
 *
 * worker_registry.h
 *	  Shared state of the kalamdb background workers: the launcher and
 *	  one worker per database that has the extension.
 *
 *-------------------------------------------------------------------------
 */
#ifndef KALAM_WORKER_REGISTRY_H
#define KALAM_WORKER_REGISTRY_H

#include "datatype/timestamp.h"
#include "storage/proc.h"
#include "storage/spin.h"

#define MAX_DB_WORKERS 64

typedef struct DbWorkerSlot
{
	Oid			dbid;			/* InvalidOid: free */
	pid_t		pid;			/* running worker, or 0 */
	PGPROC	   *proc;
	TimestampTz launched_at;	/* launcher started one (not yet running) */
	bool		no_extension;	/* the last worker found no kalamdb here */
	TimestampTz checked_at;
	uint32		extension_created;	/* CREATE EXTENSION commits seen here */
} DbWorkerSlot;

typedef struct WorkerRegistry
{
	slock_t		mutex;
	PGPROC	   *launcher;
	DbWorkerSlot slots[MAX_DB_WORKERS];
} WorkerRegistry;

extern WorkerRegistry *kalam_workers;

extern Size worker_registry_shmem_size(void);
extern void worker_registry_shmem_init(void);

/* The slot of a database (created if create), or NULL; mutex held by caller. */
extern DbWorkerSlot *worker_slot(Oid dbid, bool create);

extern void wake_launcher(void);
/* Set the latch of the database's worker, if it runs */
extern void wake_db_worker(Oid dbid);
extern void register_launcher(void);
extern void define_worker_gucs(void);
extern void install_database_guard(void);

/* GUCs of the workers */
extern int	kalam_job_poll_interval;
extern int	kalam_user_cleanup_interval;
extern int	kalam_user_cleanup_grace_period;
extern int	kalam_job_cleanup_interval;
extern int	kalam_job_retention_completed;
extern int	kalam_job_retention_failed;
extern int	kalam_stream_eviction_interval;
extern int	kalam_live_query_cleanup_interval;
extern int	kalam_compact_interval;
extern int	kalam_job_lock_timeout;

#endif							/* KALAM_WORKER_REGISTRY_H */
