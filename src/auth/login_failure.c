/*-------------------------------------------------------------------------
 *
 * login_failure.c
 *	  Recording failed logins in a transaction of their own.
 *
 * A failed kalam.login() or kalam.authenticate() ends in an error, and the
 * error rolls back everything the failing transaction wrote.  Yet the
 * failure has to stick: the failed-attempt counter drives the lockout, and
 * the audit log must show the attempt.  So the failure is handed to a
 * short-lived background worker, which connects to the same database as
 * the extension's owner, runs kalam._apply_login_failure() and commits;
 * the failing backend waits for it to finish and then raises its error.
 *
 * The request travels through a small array of slots in shared memory
 * (a worker gets only a Datum of its own); the worker copies its slot and
 * frees it at once.  Every failure, whatever its cause (unknown user,
 * wrong password, deleted or locked user), takes this same path, so the
 * path costs the same for all of them.
 *
 * Background worker slots are few and shared with parallel queries, which
 * anyone may start: a session could keep them all busy so that failures
 * go unrecorded and the lockout never comes.  So the failure takes its
 * slot first, and a failure no recorder can be started for stays queued
 * there, for the database's kalamdb worker (which holds its slot for
 * good) to record; until it is recorded, the user's logins fail as a
 * locked user's do (kalam._login_blocked()).  While every slot is taken,
 * logins wait for one, successful ones too: a session cancelled while it
 * waits learns nothing of its password.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "tcop/tcopprot.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "auth/effective_user.h"
#include "auth/login_failure.h"
#include "jobs/worker_registry.h"
#include "kalamdb.h"
#include "keys/key_kind.h"

#define FAILURE_SLOTS 32
#define ABANDONED_SLOT_SECS 60
#define ABANDONED_QUEUED_SECS 600	/* queued for a worker that never came */
#define MAX_RECORD_ATTEMPTS 10	/* the worker's tries at a queued failure */
#define RECORDER_LOCK_TIMEOUT "2s"	/* a recorder's wait for the user's row */
#define QUEUE_LOCK_TIMEOUT "50ms"	/* the kalamdb worker's, which records in turn */
#define QUEUED_WAIT_MS 2000		/* how long a session waits for its queued failure */
#define POLL_MS 10

typedef struct FailureRequest
{
	Oid			dbid;
	Oid			roleid;			/* extension owner, who runs the update */
	char		username[USER_NAME_MAX_LEN * 4 + 1];	/* as typed, any text */
	char		user_id[USER_ID_MAX_LEN + 1];	/* "" for an unknown user */
	char		reason[32];
	char		via[16];
	char		actor_user_id[USER_ID_MAX_LEN + 1];
	char		actor_role[NAMEDATALEN];
	char		client_addr[64];
	int			max_failures;	/* the failing session's settings */
	int			lockout_secs;
} FailureRequest;

typedef struct FailureSlot
{
	bool		in_use;
	bool		queued;			/* left to the database's kalamdb worker */
	int			attempts;		/* its tries at recording it */
	TimestampTz taken_at;
	FailureRequest request;
} FailureSlot;

typedef struct FailureShmem
{
	slock_t		mutex;
	FailureSlot slots[FAILURE_SLOTS];
} FailureShmem;

static FailureShmem *failure_shmem = NULL;

static int	max_failed_logins = 5;
static int	lockout_duration_secs = 15 * 60;

PGDLLEXPORT void kalam_login_failure_main(Datum main_arg);

void
login_failure_define_gucs(void)
{
	DefineCustomIntVariable("kalam.max_failed_logins",
							"Failed logins in a row after which an account is locked (0: never).",
							NULL,
							&max_failed_logins,
							5, 0, 1000,
							PGC_SUSET,
							0,
							NULL, NULL, NULL);
	DefineCustomIntVariable("kalam.lockout_duration",
							"How long an account stays locked after too many failed logins.",
							NULL,
							&lockout_duration_secs,
							15 * 60, 1, 365 * 24 * 3600,
							PGC_SUSET,
							GUC_UNIT_S,
							NULL, NULL, NULL);
}

Size
login_failure_shmem_size(void)
{
	return MAXALIGN(sizeof(FailureShmem));
}

void
login_failure_shmem_init(void)
{
	bool		found;

	failure_shmem = ShmemInitStruct("kalamdb login failures",
									sizeof(FailureShmem), &found);
	if (!found)
	{
		memset(failure_shmem, 0, sizeof(FailureShmem));
		SpinLockInit(&failure_shmem->mutex);
	}
}

/* Whether a slot is free to take: unused, or left behind long ago; mutex held */
static bool
slot_is_free(const FailureSlot *slot, TimestampTz now)
{
	if (!slot->in_use)
		return true;
	return TimestampDifferenceExceeds(slot->taken_at, now,
									  (slot->queued ? ABANDONED_QUEUED_SECS : ABANDONED_SLOT_SECS) * 1000);
}

/* A slot for the request (queued for the worker if queued), or -1 */
static int
take_slot(const FailureRequest *request, bool queued)
{
	TimestampTz now = GetCurrentTimestamp();
	int			result = -1;

	SpinLockAcquire(&failure_shmem->mutex);
	for (int i = 0; i < FAILURE_SLOTS; i++)
	{
		FailureSlot *slot = &failure_shmem->slots[i];

		if (slot_is_free(slot, now))
		{
			slot->in_use = true;
			slot->queued = queued;
			slot->attempts = 0;
			slot->taken_at = now;
			memcpy(&slot->request, request, sizeof(FailureRequest));
			result = i;
			break;
		}
	}
	SpinLockRelease(&failure_shmem->mutex);
	return result;
}

static void
release_slot(int index)
{
	SpinLockAcquire(&failure_shmem->mutex);
	failure_shmem->slots[index].in_use = false;
	failure_shmem->slots[index].queued = false;
	SpinLockRelease(&failure_shmem->mutex);
}

static void
copy_text_arg(FunctionCallInfo fcinfo, int argno, char *dest, size_t size)
{
	if (PG_ARGISNULL(argno))
		dest[0] = '\0';
	else
	{
		char	   *value = text_to_cstring(PG_GETARG_TEXT_PP(argno));
		int			len = strlen(value);

		/* cut on a character boundary, or the worker's text is invalid */
		if (len >= (int) size)
			len = pg_mbcliplen(value, len, (int) size - 1);
		memcpy(dest, value, len);
		dest[len] = '\0';
	}
}

/* A short, interruptible wait for the slots to change */
static void
nap(void)
{
	(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
					 POLL_MS, PG_WAIT_EXTENSION);
	ResetLatch(MyLatch);
	CHECK_FOR_INTERRUPTS();
}

/* Whether every slot is taken */
static bool
slots_full(void)
{
	TimestampTz now = GetCurrentTimestamp();
	int			taken = 0;

	SpinLockAcquire(&failure_shmem->mutex);
	for (int i = 0; i < FAILURE_SLOTS; i++)
		if (!slot_is_free(&failure_shmem->slots[i], now))
			taken++;
	SpinLockRelease(&failure_shmem->mutex);
	return taken == FAILURE_SLOTS;
}

/*
 * No recorder could be started for the failure in the slot: leave it to
 * the database's kalamdb worker, and wait a little for it to be recorded
 * (it blocks the user's logins until then).
 */
static void
queue_failure(int index, Oid dbid)
{
	SpinLockAcquire(&failure_shmem->mutex);
	failure_shmem->slots[index].queued = true;
	failure_shmem->slots[index].taken_at = GetCurrentTimestamp();
	SpinLockRelease(&failure_shmem->mutex);
	wake_db_worker(dbid);
	ereport(WARNING,
			(errmsg("a failed login is queued to be recorded by the kalamdb worker: no background worker slot is free"),
			 errdetail("The account accepts no login until it is recorded."),
			 errhint("Consider increasing max_worker_processes, or lowering max_parallel_workers below it.")));
	for (int waited = 0; waited < QUEUED_WAIT_MS; waited += POLL_MS)
	{
		bool		recorded;

		SpinLockAcquire(&failure_shmem->mutex);
		recorded = !failure_shmem->slots[index].in_use ||
			!failure_shmem->slots[index].queued;
		SpinLockRelease(&failure_shmem->mutex);
		if (recorded)
			break;
		nap();
	}
}

/*
 * kalam._login_blocked(user_id text) returns boolean: whether a failed
 * login of the user waits to be recorded (user_id NULL: false), once some
 * slot is free: while all are taken, every login waits here, so that a
 * failing one, which must take a slot, looks no different.  Owner-only;
 * kalam.authenticate() refuses a blocked user's logins as a locked user's.
 */
PG_FUNCTION_INFO_V1(kalam_login_blocked);
Datum
kalam_login_blocked(PG_FUNCTION_ARGS)
{
	char		user_id[USER_ID_MAX_LEN + 1] = "";
	TimestampTz now;
	bool		blocked = false;

	kalam_require_preload("kalam.login()");
	copy_text_arg(fcinfo, 0, user_id, sizeof(user_id));
	while (slots_full())
		nap();
	if (user_id[0] == '\0')
		PG_RETURN_BOOL(false);
	now = GetCurrentTimestamp();
	SpinLockAcquire(&failure_shmem->mutex);
	for (int i = 0; i < FAILURE_SLOTS; i++)
	{
		FailureSlot *slot = &failure_shmem->slots[i];

		if (!slot_is_free(slot, now) && slot->request.dbid == MyDatabaseId &&
			strcmp(slot->request.user_id, user_id) == 0)
			blocked = true;
	}
	SpinLockRelease(&failure_shmem->mutex);
	PG_RETURN_BOOL(blocked);
}

/*
 * kalam._record_login_failure(username text, user_id text, reason text,
 * via text, client_addr text) returns boolean: true once the failure is
 * recorded, or queued for the kalamdb worker to record.
 * Owner-only; called by kalam.authenticate() just before it fails.
 */
PG_FUNCTION_INFO_V1(kalam_record_login_failure);
Datum
kalam_record_login_failure(PG_FUNCTION_ARGS)
{
	FailureRequest request;
	BackgroundWorker worker;
	BackgroundWorkerHandle *handle;
	int			slot;

	kalam_require_preload("kalam.login()");

	memset(&request, 0, sizeof(request));
	request.dbid = MyDatabaseId;
	request.roleid = GetUserId();
	copy_text_arg(fcinfo, 0, request.username, sizeof(request.username));
	copy_text_arg(fcinfo, 1, request.user_id, sizeof(request.user_id));
	copy_text_arg(fcinfo, 2, request.reason, sizeof(request.reason));
	copy_text_arg(fcinfo, 3, request.via, sizeof(request.via));
	strlcpy(request.actor_user_id, kalam_user_id_guc ? kalam_user_id_guc : "",
			sizeof(request.actor_user_id));
	strlcpy(request.actor_role, GetUserNameFromId(GetOuterUserId(), false),
			sizeof(request.actor_role));
	request.max_failures = max_failed_logins;
	request.lockout_secs = lockout_duration_secs;
	copy_text_arg(fcinfo, 4, request.client_addr, sizeof(request.client_addr));

	/*
	 * Once the failure holds a slot, it is recorded, whatever becomes of
	 * this session: take one, waiting while all are taken.
	 */
	while ((slot = take_slot(&request, false)) < 0)
		nap();

	kalam_worker_template(&worker, "kalam_login_failure_main", "kalamdb login failure recorder");
	worker.bgw_notify_pid = MyProcPid;
	worker.bgw_main_arg = Int32GetDatum(slot);
	if (!RegisterDynamicBackgroundWorker(&worker, &handle))
	{
		queue_failure(slot, request.dbid);
		PG_RETURN_BOOL(true);
	}
	if (WaitForBackgroundWorkerShutdown(handle) != BGWH_STOPPED)
		ereport(ERROR,
				(errcode(ERRCODE_ADMIN_SHUTDOWN),
				 errmsg("the postmaster died while a failed login was being recorded")));
	PG_RETURN_BOOL(true);
}

/*
 * kalam._apply_login_failure() for the request, in a transaction of its
 * own.  It waits for other recorders of the same user (their transactions
 * are short), but not forever for some long transaction holding the row:
 * the caller sets lock_timeout.
 */
static void
record_failure(const FailureRequest *request)
{
	Oid			argtypes[9];
	Datum		values[9];
	int			ret;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	SPI_connect();
	PushActiveSnapshot(GetTransactionSnapshot());
	pgstat_report_activity(STATE_RUNNING, "recording a failed login");

	for (int i = 0; i < 7; i++)
		argtypes[i] = TEXTOID;
	values[0] = CStringGetTextDatum(request->username);
	values[1] = CStringGetTextDatum(request->user_id);
	values[2] = CStringGetTextDatum(request->reason);
	values[3] = CStringGetTextDatum(request->via);
	values[4] = CStringGetTextDatum(request->actor_user_id);
	values[5] = CStringGetTextDatum(request->actor_role);
	values[6] = CStringGetTextDatum(request->client_addr);
	argtypes[7] = INT4OID;
	values[7] = Int32GetDatum(request->max_failures);
	argtypes[8] = INT4OID;
	values[8] = Int32GetDatum(request->lockout_secs);

	ret = SPI_execute_with_args("SELECT kalam._apply_login_failure("
								"$1, nullif($2, '')::kalam.user_id, $3, $4, nullif($5, '')::kalam.user_id, $6, "
								"nullif($7, ''), "
								"$8, pg_catalog.make_interval(secs => $9))",
								lengthof(argtypes), argtypes, values, NULL, false, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "kalam._apply_login_failure() failed: %d", ret);

	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	pgstat_report_activity(STATE_IDLE, NULL);
}

/*
 * The recorder: one transaction that runs kalam._apply_login_failure().
 */
void
kalam_login_failure_main(Datum main_arg)
{
	int			slot = DatumGetInt32(main_arg);
	FailureRequest request;

	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();

	memcpy(&request, &failure_shmem->slots[slot].request, sizeof(request));
	release_slot(slot);

	BackgroundWorkerInitializeConnectionByOid(request.dbid, request.roleid, 0);
	pgstat_report_appname("kalamdb login failure recorder");

	/*
	 * It runs as the extension's owner, a superuser: a make_interval() of
	 * the database owner's in public must not run.
	 */
	kalam_worker_override_settings();
	SetConfigOption("lock_timeout", RECORDER_LOCK_TIMEOUT, PGC_SUSET, PGC_S_OVERRIDE);
	record_failure(&request);
	proc_exit(0);
}

/*
 * The database's kalamdb worker records the failures queued for it, each
 * in a transaction of its own.  One that keeps failing is given up after
 * a few tries (the user's logins are then no longer blocked by it).
 */
void
login_failures_record_queued(void)
{
	MemoryContext cxt = CurrentMemoryContext;

	/*
	 * One at a time, so a short wait for the user's row: a session holding
	 * it (its own user's, logged in within an open transaction) must not
	 * hold up the others' failures.  At most a slotful per call: the jobs
	 * must not starve under a stream of failures.
	 */
	SetConfigOption("lock_timeout", QUEUE_LOCK_TIMEOUT, PGC_SUSET, PGC_S_OVERRIDE);
	for (int done = 0; done < FAILURE_SLOTS; done++)
	{
		FailureRequest request;
		int			index = -1;
		int			attempts = 0;

		SpinLockAcquire(&failure_shmem->mutex);
		for (int i = 0; i < FAILURE_SLOTS && index < 0; i++)
		{
			FailureSlot *slot = &failure_shmem->slots[i];

			if (slot->in_use && slot->queued && slot->request.dbid == MyDatabaseId &&
				slot->attempts < MAX_RECORD_ATTEMPTS)
			{
				index = i;
				attempts = ++slot->attempts;
				memcpy(&request, &slot->request, sizeof(request));
			}
		}
		SpinLockRelease(&failure_shmem->mutex);
		if (index < 0)
			break;

		PG_TRY();
		{
			record_failure(&request);
			release_slot(index);
		}
		PG_CATCH();
		{
			MemoryContextSwitchTo(cxt);
			EmitErrorReport();
			FlushErrorState();
			AbortCurrentTransaction();
			if (attempts >= MAX_RECORD_ATTEMPTS)
			{
				release_slot(index);
				ereport(WARNING,
						(errmsg("gave up recording a queued failed login of \"%s\" after %d tries",
								request.username, attempts)));
			}
		}
		PG_END_TRY();
		MemoryContextSwitchTo(cxt);
	}
	SetConfigOption("lock_timeout", "0", PGC_SUSET, PGC_S_OVERRIDE);
}
