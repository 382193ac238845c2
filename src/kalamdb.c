/*-------------------------------------------------------------------------
 *
 * kalamdb.c
 *	  Library entry point: _PG_init defines the GUCs, requests shared
 *	  memory and installs the hooks of every module.
 *
 * kalamdb must be loaded through shared_preload_libraries (shared memory
 * for the row-id generator, the owner map and the failed-login recorder,
 * the background worker).  CREATE EXTENSION, the kalamdb access method and
 * every function that needs shared state fail with SQLSTATE 55000
 * otherwise.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/guc.h"

#include "am/owner_map.h"
#include "am/placement.h"
#include "auth/effective_user.h"
#include "jobs/worker_registry.h"
#include "live/live_routes.h"
#include "auth/login_failure.h"
#include "auth/password.h"
#include "kalamdb.h"
#include "tables/with_type.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

int			kalam_node_id = 0;
bool		kalam_preloaded = false;

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

static void
kalam_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();

	RequestAddinShmemSpace(row_id_shmem_size());
	RequestAddinShmemSpace(login_failure_shmem_size());
	RequestAddinShmemSpace(owner_map_shmem_size());
	RequestAddinShmemSpace(worker_registry_shmem_size());
	RequestAddinShmemSpace(live_shmem_size());
	live_shmem_request();
	login_failure_shmem_request();
}

static void
kalam_shmem_startup(void)
{
	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	row_id_shmem_init();
	login_failure_shmem_init();
	owner_map_shmem_init();
	worker_registry_shmem_init();
	live_shmem_init();
	LWLockRelease(AddinShmemInitLock);
}

void
kalam_require_preload(const char *what)
{
	if (!kalam_preloaded)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("%s requires kalamdb to be loaded via shared_preload_libraries", what),
				 errhint("Add kalamdb to shared_preload_libraries in postgresql.conf and restart the server.")));
}

/*
 * Settings of the server as a whole (PGC_POSTMASTER) exist only when the
 * library is preloaded: they cannot be created later.
 */
/* kalam.log_audit, read by kalam._audit() */
static bool kalam_log_audit = true;

static void
define_gucs(bool preloading)
{
	if (preloading)
	{
		DefineCustomIntVariable("kalam.node_id",
								"Node number stored in the row ids this server generates.",
								"Each server writing to the same data set needs its own number (0 to 1023).",
								&kalam_node_id,
								0, 0, 1023,
								PGC_POSTMASTER,
								0,
								NULL, NULL, NULL);
		owner_map_define_gucs();
		live_define_gucs();
	}
	DefineCustomBoolVariable("kalam.log_audit",
							 "Writes each audit log entry to the server log as well.",
							 "An entry of system.audit_log goes with its transaction: a login or an "
							 "execute_as in one rolled back leaves none there, but its line in the "
							 "server log stays.",
							 &kalam_log_audit,
							 true,
							 PGC_SUSET,
							 0,
							 NULL, NULL, NULL);
	effective_user_define_gucs();
	password_define_gucs();
	login_failure_define_gucs();
	placement_define_gucs();
	define_worker_gucs();
}

void
_PG_init(void)
{
	define_gucs(process_shared_preload_libraries_in_progress);

	if (process_shared_preload_libraries_in_progress)
	{
		kalam_preloaded = true;

		prev_shmem_request_hook = shmem_request_hook;
		shmem_request_hook = kalam_shmem_request;
		prev_shmem_startup_hook = shmem_startup_hook;
		shmem_startup_hook = kalam_shmem_startup;

		/*
		 * No jobs while pg_upgrade runs the server (binary-upgrade mode):
		 * they would write to the old cluster as it is dumped, and to the
		 * new one as its schema is restored, before its files arrive.
		 */
		if (!IsBinaryUpgrade)
			register_launcher();
		install_database_guard();
		install_create_table_with_type();
	}

	MarkGUCPrefixReserved("kalam");
}

void
kalam_worker_template(BackgroundWorker *worker, const char *function, const char *type)
{
	memset(worker, 0, sizeof(BackgroundWorker));
	worker->bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker->bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker->bgw_restart_time = BGW_NEVER_RESTART;
	strlcpy(worker->bgw_library_name, "kalamdb", BGW_MAXLEN);
	strlcpy(worker->bgw_function_name, function, BGW_MAXLEN);
	strlcpy(worker->bgw_name, type, BGW_MAXLEN);
	strlcpy(worker->bgw_type, type, BGW_MAXLEN);
}

/*
 * The workers run as a superuser (the bootstrap superuser, or the
 * extension's owner), in databases whose owners can set defaults for
 * everyone (ALTER DATABASE ... SET) and create objects in public.  So a
 * worker resolves no function or operator through a schema others can
 * create objects in (an "=" or make_interval() of theirs that fits the
 * arguments better than pg_catalog's would run as the superuser), and its
 * transactions are READ COMMITTED and read-write, with no time limit,
 * whatever the defaults say: a default could otherwise make every job, or
 * the recording of every failed login, fail.
 */
void
kalam_worker_override_settings(void)
{
	SetConfigOption("search_path", "pg_catalog, pg_temp", PGC_SUSET, PGC_S_OVERRIDE);
	SetConfigOption("default_transaction_isolation", "read committed", PGC_SUSET, PGC_S_OVERRIDE);
	SetConfigOption("default_transaction_read_only", "off", PGC_SUSET, PGC_S_OVERRIDE);
	SetConfigOption("statement_timeout", "0", PGC_SUSET, PGC_S_OVERRIDE);
	SetConfigOption("lock_timeout", "0", PGC_SUSET, PGC_S_OVERRIDE);
	SetConfigOption("idle_in_transaction_session_timeout", "0", PGC_SUSET, PGC_S_OVERRIDE);
}

ErrorData *
kalam_abort_with_error(MemoryContext cxt)
{
	ErrorData  *edata;

	MemoryContextSwitchTo(cxt);
	edata = CopyErrorData();
	FlushErrorState();
	AbortCurrentTransaction();
	MemoryContextSwitchTo(cxt);
	return edata;
}

/*
 * kalam._require_preload(): the first statement of the install script, so
 * that CREATE EXTENSION fails early and clearly without the preload.
 */
PG_FUNCTION_INFO_V1(kalam_require_preload_sql);
Datum
kalam_require_preload_sql(PG_FUNCTION_ARGS)
{
	kalam_require_preload("CREATE EXTENSION kalamdb");
	PG_RETURN_VOID();
}
