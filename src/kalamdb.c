/*-------------------------------------------------------------------------
 *
 * kalamdb.c
 *	  Library entry point: _PG_init defines the GUCs, requests shared
 *	  memory and installs the hooks of every module.
 *
 * Most of kalamdb needs to be loaded through shared_preload_libraries
 * (shared memory for the row-id generator and the owner map, the background
 * worker).  Loading it any other way still defines the types, but every
 * function that needs shared state fails with SQLSTATE 55000.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/guc.h"

#include "auth/effective_user.h"
#include "auth/login_failure.h"
#include "auth/password.h"
#include "kalamdb.h"

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
}

static void
kalam_shmem_startup(void)
{
	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	row_id_shmem_init();
	login_failure_shmem_init();
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

static void
define_gucs(void)
{
	DefineCustomIntVariable("kalam.node_id",
							"Node number stored in the row ids this server generates.",
							"Each server writing to the same data set needs its own number (0 to 1023).",
							&kalam_node_id,
							0, 0, 1023,
							PGC_POSTMASTER,
							0,
							NULL, NULL, NULL);
	effective_user_define_gucs();
	password_define_gucs();
	login_failure_define_gucs();
}

void
_PG_init(void)
{
	define_gucs();

	if (process_shared_preload_libraries_in_progress)
	{
		kalam_preloaded = true;

		prev_shmem_request_hook = shmem_request_hook;
		shmem_request_hook = kalam_shmem_request;
		prev_shmem_startup_hook = shmem_startup_hook;
		shmem_startup_hook = kalam_shmem_startup;
	}

	MarkGUCPrefixReserved("kalam");
}
