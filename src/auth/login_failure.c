/*-------------------------------------------------------------------------
 *
 * login_failure.c
 *	  Recording failed logins in a transaction of their own.
 *
 * A failed kalam.login() or kalam.authenticate() ends in an error, and the
 * error rolls back everything the failing transaction wrote.  Yet the
 * failure has to stick: the failed-attempt counter drives the lockout, and
 * the audit log must show the attempt.  So the failure is handed to a
 * short-lived background worker (the recorder), which connects to the
 * same database as the extension's owner, runs kalam._apply_login_failure()
 * and commits; the failing backend waits for it and then raises its error.
 * Every failure, whatever its cause (unknown user, wrong password, deleted
 * or locked user), takes this same path, so the path costs the same for
 * all of them.
 *
 * Every login first reserves a slot in shared memory (twice as many as
 * backends, under one LWLock: a login scans them all for others of the
 * same user), before its password is looked at; a failure is written into
 * it and waits there until it is recorded.  When no recorder can be
 * started (the background worker slots are few, and parallel queries,
 * which anyone may start, can take them all), or the recorder found the
 * user's row held (it does not wait for it: the time a failure takes must
 * not tell a known user from an unknown one), the failure stays queued
 * there for the database's kalamdb worker, which holds its slot for good
 * and records queued failures between jobs.  While any failure of a user
 * waits in a slot, that user's logins fail as a locked user's do
 * (kalam._login_begin() tells): neither busy worker slots, nor a held
 * row, nor a session cancelled once its failure is in its slot lose a
 * failure or leave a guess unchecked against the lockout.  A login cut
 * off before that (a cancel or a timeout while the password is hashed)
 * had no verdict seen, and stops counting as under way when its
 * transaction ends.  A session whose own last failure was never tried
 * (no recorder started) waits for the kalamdb worker to try it (a while)
 * before its next login is checked at all.  Should failures pile up
 * faster than the kalamdb worker records them (it is busy with a long job
 * step) until no slot is free, logins are refused unchecked until some
 * are.
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
#include "storage/backendid.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/shmem.h"
#include "storage/lwlock.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "auth/effective_user.h"
#include "auth/login_failure.h"
#include "jobs/worker_registry.h"
#include "kalamdb.h"
#include "keys/key_kind.h"

/*
 * How long a recorder, and the kalamdb worker, wait for a lock; but for
 * the user's row and system.users, which kalam._apply_login_failure()
 * does not wait for (1 ms): the time a failed login takes must not tell
 * whether someone holds the user's row (a user logged in by a transaction
 * still open) or a lock on system.users, which only a known user's
 * failure touches; a failure that finds one held is queued at once, and
 * its user's logins fail until it is recorded.
 */
#define RECORDER_LOCK_TIMEOUT "2s"
#define QUEUE_LOCK_TIMEOUT "50ms"
#define OWN_WAIT_MS 2000		/* a session's wait for its own last failure */
#define STARTING_RECORDER_SECS 60	/* a recorder that never came: queue */
#define ABANDONED_QUEUED_SECS 600	/* queued for a kalamdb worker that never came */
#define MAX_RECORD_ATTEMPTS 20	/* the kalamdb worker's tries, but for a held row */
#define POLL_MS 10

/*
 * The least time the recording of a failure takes, as its session sees it.
 * A recorder is a process started for the purpose (some 8 ms here), and a
 * known user's failure is a few statements more for it than an unknown
 * user's (the row locked and updated; under a millisecond, but alike from
 * one try to the next, so an average over many would tell them apart):
 * the session waits out the rest of this floor, whatever happened.
 */
#define FAILURE_TIME_FLOOR_MS 50
#define FAILURE_LOCK_TRANCHE "kalamdb login failures"

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

typedef enum SlotState
{
	SLOT_FREE = 0,
	SLOT_RESERVED,				/* by a session, for its next failed login */
	SLOT_CHECKING,				/* the session is checking a login of the user */
	SLOT_RECORDING,				/* a recorder is started for it */
	SLOT_QUEUED					/* left to the database's kalamdb worker */
} SlotState;

/* A slot; generation tells one use of it from the next */
typedef struct FailureSlot
{
	SlotState	state;
	uint32		generation;
	pid_t		recorder_pid;	/* once the recorder has taken it, or 0 */
	TimestampTz since;			/* in this state since */
	TimestampTz next_try_at;	/* queued: the kalamdb worker's next try */
	int			attempts;		/* queued: the kalamdb worker's tries so far */
	bool		recorder_tried; /* queued: its recorder tried to record it */
	FailureRequest request;
} FailureSlot;

typedef struct FailureShmem
{
	LWLock	   *lock;			/* guards the slots (a scan of them all) */
	int			nslots;			/* twice MaxBackends */
	FailureSlot slots[FLEXIBLE_ARRAY_MEMBER];
} FailureShmem;

static FailureShmem *failure_shmem = NULL;

/* This session's reserved slot, and the one its last failure went to */
static int	my_reserved = -1;
static uint32 my_reserved_generation;
static int	my_failure = -1;
static uint32 my_failure_generation;
static bool my_checking = false;	/* the reserved slot is checking a login */
static int	my_checking_level;	/* the transaction nesting level of the check */

static int	max_failed_logins = 5;
static int	lockout_duration_secs = 15 * 60;

PGDLLEXPORT void kalam_login_failure_main(Datum main_arg);

static void login_xact_callback(XactEvent event, void *arg);
static void login_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
								   SubTransactionId parentSubid, void *arg);

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
	return MAXALIGN(add_size(offsetof(FailureShmem, slots),
							 mul_size(mul_size(MaxBackends, 2), sizeof(FailureSlot))));
}

void
login_failure_shmem_request(void)
{
	RequestNamedLWLockTranche(FAILURE_LOCK_TRANCHE, 1);
}

void
login_failure_shmem_init(void)
{
	bool		found;

	failure_shmem = ShmemInitStruct("kalamdb login failures",
									login_failure_shmem_size(), &found);
	if (!found)
	{
		memset(failure_shmem, 0, login_failure_shmem_size());
		failure_shmem->lock = &(GetNamedLWLockTranche(FAILURE_LOCK_TRANCHE))->lock;
		failure_shmem->nslots = MaxBackends * 2;
	}
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

/* The session's reservation goes with it */
static void
release_reservation(int code, Datum arg)
{
	if (my_reserved < 0)
		return;
	LWLockAcquire(failure_shmem->lock, LW_EXCLUSIVE);
	if (failure_shmem->slots[my_reserved].generation == my_reserved_generation &&
		(failure_shmem->slots[my_reserved].state == SLOT_RESERVED ||
		 failure_shmem->slots[my_reserved].state == SLOT_CHECKING))
		failure_shmem->slots[my_reserved].state = SLOT_FREE;
	LWLockRelease(failure_shmem->lock);
	my_reserved = -1;
}

/*
 * Reserve a slot for this session's next failed login, if it has none;
 * false if none is free.  A failure queued for a kalamdb worker that never
 * came is given up after a while, its slot taken.
 */
static bool
reserve_slot(void)
{
	static bool exit_callback = false;
	TimestampTz now;
	int			abandoned = -1;
	char		username[USER_NAME_MAX_LEN * 4 + 1];

	if (my_reserved >= 0)
		return true;
	if (!exit_callback)
	{
		before_shmem_exit(release_reservation, 0);
		RegisterXactCallback(login_xact_callback, NULL);
		RegisterSubXactCallback(login_subxact_callback, NULL);
		exit_callback = true;
	}
	now = GetCurrentTimestamp();
	LWLockAcquire(failure_shmem->lock, LW_EXCLUSIVE);
	for (int i = 0; i < failure_shmem->nslots && my_reserved < 0; i++)
	{
		FailureSlot *slot = &failure_shmem->slots[i];

		if (slot->state == SLOT_QUEUED && slot->attempts == 0 &&
			TimestampDifferenceExceeds(slot->since, now, ABANDONED_QUEUED_SECS * 1000))
		{
			abandoned = i;
			strlcpy(username, slot->request.username, sizeof(username));
			slot->state = SLOT_FREE;
		}
		if (slot->state == SLOT_FREE)
		{
			slot->state = SLOT_RESERVED;
			slot->generation++;
			slot->since = now;
			slot->request.dbid = InvalidOid;
			slot->request.user_id[0] = '\0';
			my_reserved = i;
			my_reserved_generation = slot->generation;
		}
	}
	LWLockRelease(failure_shmem->lock);
	if (abandoned >= 0)
		ereport(WARNING,
				(errmsg("gave up a failed login of \"%s\" that no kalamdb worker recorded in %d s",
						username, ABANDONED_QUEUED_SECS)));
	return my_reserved >= 0;
}

/* A short, interruptible wait */
static void
nap(long ms)
{
	(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
					 ms, PG_WAIT_EXTENSION);
	ResetLatch(MyLatch);
	CHECK_FOR_INTERRUPTS();
}

/*
 * Leave the slot's failure, if still this one, to the kalamdb worker; lock
 * held.  Whether its recorder tried to record it is noted: its session
 * does not wait for the worker then (my_failure_settled()).
 */
static void
queue_locked(FailureSlot *slot, uint32 generation, TimestampTz now)
{
	if (slot->generation != generation || slot->state == SLOT_FREE)
		return;
	if (slot->state != SLOT_QUEUED)
	{
		slot->recorder_tried = (slot->state == SLOT_RECORDING && slot->recorder_pid != 0);
		slot->attempts = 0;
		slot->state = SLOT_QUEUED;
		slot->since = now;
	}
	slot->next_try_at = now;
}

static void
queue_failure(int index, uint32 generation)
{
	FailureSlot *slot = &failure_shmem->slots[index];
	Oid			dbid;

	LWLockAcquire(failure_shmem->lock, LW_EXCLUSIVE);
	queue_locked(slot, generation, GetCurrentTimestamp());
	dbid = slot->request.dbid;
	LWLockRelease(failure_shmem->lock);
	wake_db_worker(dbid);
}

/* The slot's failure, if still this one, is recorded */
static void
finish_failure(int index, uint32 generation)
{
	FailureSlot *slot = &failure_shmem->slots[index];

	LWLockAcquire(failure_shmem->lock, LW_EXCLUSIVE);
	if (slot->generation == generation)
	{
		slot->state = SLOT_FREE;
		slot->recorder_pid = 0;
	}
	LWLockRelease(failure_shmem->lock);
}

/* A slot whose recorder never started or died unfinished; lock held */
static bool
recorder_gone(const FailureSlot *slot, TimestampTz now)
{
	if (slot->state != SLOT_RECORDING)
		return false;
	if (slot->recorder_pid != 0)
		return kill(slot->recorder_pid, 0) != 0;
	return TimestampDifferenceExceeds(slot->since, now, STARTING_RECORDER_SECS * 1000);
}

/*
 * Whether this session's last failed login is settled: recorded, or tried
 * (by its recorder or the kalamdb worker) and left queued because the
 * user's row was held, which blocks the user's logins until it is
 * recorded.  An untried one (no recorder could be started) is waited for:
 * a session has at most one such failure.  Nothing here depends on the
 * user's row, or the wait would tell a known user from an unknown one.
 * A recorder that never started or died unfinished leaves the failure to
 * the kalamdb worker.
 */
static bool
my_failure_settled(void)
{
	FailureSlot *slot;
	TimestampTz now = GetCurrentTimestamp();
	bool		settled;
	bool		requeued = false;

	if (my_failure < 0)
		return true;
	slot = &failure_shmem->slots[my_failure];
	LWLockAcquire(failure_shmem->lock, LW_EXCLUSIVE);
	if (slot->generation == my_failure_generation && recorder_gone(slot, now))
	{
		queue_locked(slot, slot->generation, now);
		requeued = true;
	}
	settled = (slot->generation != my_failure_generation ||
			   (slot->state != SLOT_RECORDING &&
				(slot->state != SLOT_QUEUED || slot->recorder_tried || slot->attempts > 0)));
	LWLockRelease(failure_shmem->lock);
	if (requeued)
		wake_db_worker(slot->request.dbid);
	if (settled)
		my_failure = -1;
	return settled;
}

/* The session's slot, checking a login, is back to waiting for a failure */
static void
end_check(void)
{
	if (!my_checking)
		return;
	my_checking = false;
	if (my_reserved < 0)
		return;
	LWLockAcquire(failure_shmem->lock, LW_EXCLUSIVE);
	if (failure_shmem->slots[my_reserved].generation == my_reserved_generation &&
		failure_shmem->slots[my_reserved].state == SLOT_CHECKING)
	{
		failure_shmem->slots[my_reserved].state = SLOT_RESERVED;
		failure_shmem->slots[my_reserved].request.user_id[0] = '\0';
	}
	LWLockRelease(failure_shmem->lock);
}

/*
 * A login check cut off (a statement timeout or a cancel during the
 * password's hashing, an error) never reached its verdict, or had it
 * go unseen: it is no longer under way.  Left marked as checking, it
 * would count against its user's lockout for as long as the session
 * lives, which idle sessions could make forever.
 */
static void
login_xact_callback(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT ||
		event == XACT_EVENT_COMMIT || event == XACT_EVENT_PARALLEL_COMMIT ||
		event == XACT_EVENT_PREPARE)
		end_check();
}

static void
login_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
					   SubTransactionId parentSubid, void *arg)
{
	/* the check began in this subtransaction or one it contains */
	if (event == SUBXACT_EVENT_ABORT_SUB &&
		my_checking_level >= GetCurrentTransactionNestLevel())
		end_check();
}

/*
 * kalam._login_begin(user_id text) returns integer, before a login is
 * checked.  The transaction must see the user's row as it is now (READ
 * COMMITTED): a snapshot taken before would not see the lock the last
 * failures set.  This session's last failed login, if no one has tried
 * to record it yet, is waited for (up to 2 s, else an error, before any
 * password is looked at), and a slot reserved for a failure of this one
 * (none free: an error), marked as checking a login of the user.  Returns
 * how many other logins of the user are under way (being checked, or
 * failed and waiting to be recorded), or -1 if a failure of the user waits
 * for the kalamdb worker: kalam.authenticate() adds them to the failures
 * the user's row counts before it compares with kalam.max_failed_logins,
 * and refuses the login as a locked user's at -1.  Owner-only.
 */
PG_FUNCTION_INFO_V1(kalam_login_begin);
Datum
kalam_login_begin(PG_FUNCTION_ARGS)
{
	char		user_id[USER_ID_MAX_LEN + 1] = "";
	int			under_way = 0;
	bool		queued = false;

	kalam_require_preload("kalam.login()");
	if (IsolationUsesXactSnapshot())
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("logins are checked in READ COMMITTED transactions only"),
				 errdetail("The login was not checked.")));
	for (int waited = 0; !my_failure_settled(); waited += POLL_MS)
	{
		if (waited >= OWN_WAIT_MS)
			ereport(ERROR,
					(errcode(ERRCODE_LOCK_NOT_AVAILABLE),
					 errmsg("the last failed login of this session is still waiting to be recorded"),
					 errdetail("The login was not checked."),
					 errhint("Try again in a moment.")));
		nap(POLL_MS);
	}
	if (!reserve_slot())
		ereport(ERROR,
				(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
				 errmsg("too many failed logins are waiting to be recorded"),
				 errdetail("The login was not checked."),
				 errhint("Try again in a moment.")));
	copy_text_arg(fcinfo, 0, user_id, sizeof(user_id));

	LWLockAcquire(failure_shmem->lock, LW_EXCLUSIVE);
	for (int i = 0; i < failure_shmem->nslots && user_id[0] != '\0'; i++)
	{
		FailureSlot *slot = &failure_shmem->slots[i];

		if (i == my_reserved)
			continue;			/* this login's own */
		if ((slot->state == SLOT_CHECKING || slot->state == SLOT_RECORDING ||
			 slot->state == SLOT_QUEUED) &&
			slot->request.dbid == MyDatabaseId && strcmp(slot->request.user_id, user_id) == 0)
		{
			under_way++;
			queued |= (slot->state == SLOT_QUEUED);
		}
	}
	/* this login, under way too, until it ends (or its transaction does) */
	my_checking = true;
	my_checking_level = GetCurrentTransactionNestLevel();
	failure_shmem->slots[my_reserved].state = SLOT_CHECKING;
	failure_shmem->slots[my_reserved].request.dbid = MyDatabaseId;
	strlcpy(failure_shmem->slots[my_reserved].request.user_id, user_id,
			sizeof(failure_shmem->slots[my_reserved].request.user_id));
	LWLockRelease(failure_shmem->lock);
	PG_RETURN_INT32(queued ? -1 : under_way);
}

/*
 * kalam._login_end(): a login was found right; the session's slot is back
 * to waiting for a failure.  Owner-only.
 */
PG_FUNCTION_INFO_V1(kalam_login_end);
Datum
kalam_login_end(PG_FUNCTION_ARGS)
{
	end_check();
	PG_RETURN_VOID();
}

/*
 * kalam._record_login_failure(username text, user_id text, reason text,
 * via text, client_addr text) returns boolean: true once the failure is
 * recorded, or queued for the kalamdb worker to record.
 * Owner-only; called by kalam.authenticate() just before it fails, after
 * kalam._login_begin() found this session's slot free.
 */
PG_FUNCTION_INFO_V1(kalam_record_login_failure);
Datum
kalam_record_login_failure(PG_FUNCTION_ARGS)
{
	FailureRequest request;
	BackgroundWorker worker;
	BackgroundWorkerHandle *handle;
	int			index;
	FailureSlot *slot;
	uint32		generation;
	TimestampTz started = GetCurrentTimestamp();

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
	/* nothing here may fail: a failure not in its slot is not counted */
	{
		char	   *role = GetUserNameFromId(GetOuterUserId(), true);

		strlcpy(request.actor_role, role ? role : "", sizeof(request.actor_role));
	}
	request.max_failures = max_failed_logins;
	request.lockout_secs = lockout_duration_secs;
	copy_text_arg(fcinfo, 4, request.client_addr, sizeof(request.client_addr));

	/*
	 * Into the slot kalam._login_begin() reserved: nothing between the
	 * verdict and this point waits or can be cancelled.
	 */
	index = my_reserved;
	if (index < 0)
		elog(ERROR, "no login failure slot is reserved");
	slot = &failure_shmem->slots[index];
	LWLockAcquire(failure_shmem->lock, LW_EXCLUSIVE);
	if ((slot->state != SLOT_RESERVED && slot->state != SLOT_CHECKING) ||
		slot->generation != my_reserved_generation)
	{
		LWLockRelease(failure_shmem->lock);
		elog(ERROR, "the reserved login failure slot was taken");
	}
	generation = ++slot->generation;
	slot->state = SLOT_RECORDING;
	slot->recorder_pid = 0;
	slot->since = GetCurrentTimestamp();
	memcpy(&slot->request, &request, sizeof(request));
	LWLockRelease(failure_shmem->lock);
	my_reserved = -1;
	my_checking = false;
	my_failure = index;
	my_failure_generation = generation;

	kalam_worker_template(&worker, "kalam_login_failure_main", "kalamdb login failure recorder");
	worker.bgw_notify_pid = MyProcPid;
	worker.bgw_main_arg = Int32GetDatum(index);
	memcpy(worker.bgw_extra, &generation, sizeof(generation));
	if (!RegisterDynamicBackgroundWorker(&worker, &handle))
	{
		queue_failure(index, generation);
		ereport(WARNING,
				(errmsg("a failed login is queued to be recorded by the kalamdb worker: no background worker slot is free"),
				 errdetail("The account accepts no login until it is recorded."),
				 errhint("Consider increasing max_worker_processes, or lowering max_parallel_workers below it.")));
	}
	else if (WaitForBackgroundWorkerShutdown(handle) != BGWH_STOPPED)
		ereport(ERROR,
				(errcode(ERRCODE_ADMIN_SHUTDOWN),
				 errmsg("the postmaster died while a failed login was being recorded")));
	else
		queue_failure(index, generation);	/* if it is still there: see there */

	/*
	 * Not waited for further: a failure the kalamdb worker is to record
	 * blocks its user's logins meanwhile, and this session's next login
	 * waits for it if it is untried (my_failure_settled()).  Only the
	 * floor's rest.
	 */
	for (;;)
	{
		long		left = FAILURE_TIME_FLOOR_MS -
			TimestampDifferenceMilliseconds(started, GetCurrentTimestamp());

		if (left <= 0)
			break;
		nap(left);
	}
	PG_RETURN_BOOL(true);
}

/*
 * kalam._apply_login_failure() for the request, in a transaction of its
 * own.  It fails at once if the user's row is held (55P03), and waits for
 * other locks no longer than the lock_timeout the caller sets.
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
 * Should it fail (the user's row held past lock_timeout, say), the failure
 * stays in its slot for the kalamdb worker.
 */
void
kalam_login_failure_main(Datum main_arg)
{
	int			index = DatumGetInt32(main_arg);
	FailureSlot *slot = &failure_shmem->slots[index];
	FailureRequest request;
	uint32		generation;
	bool		current;

	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();

	memcpy(&generation, MyBgworkerEntry->bgw_extra, sizeof(generation));
	LWLockAcquire(failure_shmem->lock, LW_EXCLUSIVE);
	current = (slot->generation == generation && slot->state == SLOT_RECORDING);
	if (current)
	{
		slot->recorder_pid = MyProcPid;
		memcpy(&request, &slot->request, sizeof(request));
	}
	LWLockRelease(failure_shmem->lock);
	if (!current)
		proc_exit(0);

	BackgroundWorkerInitializeConnectionByOid(request.dbid, request.roleid, 0);
	pgstat_report_appname("kalamdb login failure recorder");

	/*
	 * It runs as the extension's owner, a superuser: a make_interval() of
	 * the database owner's in public must not run.
	 */
	kalam_worker_override_settings();
	SetConfigOption("lock_timeout", RECORDER_LOCK_TIMEOUT, PGC_SUSET, PGC_S_OVERRIDE);
	PG_TRY();
	{
		record_failure(&request);
		finish_failure(index, generation);
	}
	PG_CATCH();
	{
		EmitErrorReport();
		FlushErrorState();
		AbortCurrentTransaction();
		queue_failure(index, generation);
	}
	PG_END_TRY();
	proc_exit(0);
}

/*
 * The database's kalamdb worker records the failures queued for it, each
 * in a transaction of its own, waiting only a little for the user's row
 * (one held longer is tried again later: the user stays blocked).  A
 * failure that fails otherwise is tried again, less and less often, and
 * given up after a while.  At most one per backend is queued.
 */
void
login_failures_record_queued(void)
{
	MemoryContext cxt = CurrentMemoryContext;

	SetConfigOption("lock_timeout", QUEUE_LOCK_TIMEOUT, PGC_SUSET, PGC_S_OVERRIDE);
	for (int i = 0; i < failure_shmem->nslots; i++)
	{
		FailureSlot *slot = &failure_shmem->slots[i];
		FailureRequest request;
		uint32		generation;
		int			attempts;
		bool		due;
		TimestampTz now = GetCurrentTimestamp();

		LWLockAcquire(failure_shmem->lock, LW_EXCLUSIVE);
		/* a recorder whose session left before it was seen to fail */
		if (slot->request.dbid == MyDatabaseId && recorder_gone(slot, now))
			queue_locked(slot, slot->generation, now);
		due = (slot->state == SLOT_QUEUED && slot->request.dbid == MyDatabaseId &&
			   slot->next_try_at <= now);
		if (due)
		{
			generation = slot->generation;
			attempts = ++slot->attempts;
			/* not again before a while, should this try fail */
			slot->next_try_at = TimestampTzPlusMilliseconds(now, Min(attempts, 30) * 1000);
			memcpy(&request, &slot->request, sizeof(request));
		}
		LWLockRelease(failure_shmem->lock);
		if (!due)
			continue;

		PG_TRY();
		{
			record_failure(&request);
			finish_failure(i, generation);
		}
		PG_CATCH();
		{
			ErrorData  *edata = kalam_abort_with_error(cxt);

			if (edata->sqlerrcode != ERRCODE_LOCK_NOT_AVAILABLE && attempts >= MAX_RECORD_ATTEMPTS)
			{
				finish_failure(i, generation);
				ereport(WARNING,
						(errmsg("gave up recording a failed login of \"%s\" after %d tries: %s",
								request.username, attempts, edata->message)));
			}
			FreeErrorData(edata);
		}
		PG_END_TRY();
		MemoryContextSwitchTo(cxt);
	}
	SetConfigOption("lock_timeout", "0", PGC_SUSET, PGC_S_OVERRIDE);
}
