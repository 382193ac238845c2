/*-------------------------------------------------------------------------
 *
 * kalamdb.h
 *	  Declarations shared across the kalamdb extension: GUC variables,
 *	  shared-memory entry points and the hooks each module installs.
 *
 *-------------------------------------------------------------------------
 */
#ifndef KALAMDB_H
#define KALAMDB_H

#include "postgres.h"

#include "postmaster/bgworker.h"

/* Schemas the extension lives in (the extension is not relocatable). */
#define KALAM_SCHEMA	"kalam"
#define SYSTEM_SCHEMA	"system"

/* GUC variables (defined in kalamdb.c) */
extern int	kalam_node_id;

/* true once _PG_init ran from shared_preload_libraries */
extern bool kalam_preloaded;

/*
 * Raise 55000 unless the library was loaded through shared_preload_libraries.
 * Everything that needs shared memory calls this first.
 */
extern void kalam_require_preload(const char *what);

/*
 * A background worker of this library, connected to a database: runs
 * function (a kalam_*_main), shows as type, never restarted by the
 * postmaster and notifying nobody until the caller says otherwise.
 */
extern void kalam_worker_template(BackgroundWorker *worker, const char *function,
								  const char *type);

/*
 * Once connected: the settings every worker of this library runs with,
 * whatever the database's or role's defaults (see kalamdb.c).
 */
extern void kalam_worker_override_settings(void);

/*
 * In the PG_CATCH() of a worker's own transaction: the error, copied into
 * cxt, and the transaction rolled back.
 */
extern ErrorData *kalam_abort_with_error(MemoryContext cxt);

/* Shared memory: each module asks for its size and initializes its part. */
extern Size row_id_shmem_size(void);
extern void row_id_shmem_init(void);

#endif							/* KALAMDB_H */
