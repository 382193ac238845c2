/*-------------------------------------------------------------------------
 *
 * job_runner.c
 *	  Running the jobs of system.jobs in the kalamdb worker.
 *
 * Lifecycle: kalam.submit_job() inserts a job as 'new'; the worker queues
 * it ('queued'), claims it with FOR UPDATE SKIP LOCKED ('running'), runs
 * it, and ends it 'completed' with its counts in message and parameters,
 * or, on error, 'retrying' (until max_retries, with a backoff of
 * retry_count seconds) and then 'failed' with the error and its context
 * in exception_trace; an error no retry would get past (a data exception,
 * an invalid schema name, a syntax or access rule violation: the
 * parameters, or what they name) fails the job at once.  A job cancelled
 * while it runs stops at its next step and stays 'cancelled'.  An error
 * in one job never stops the worker: the job's transaction is rolled back
 * and the failure recorded in a new one.
 *
 * The work itself is SQL (the kalam._job_* functions of the install
 * script); this file drives it, one transaction per step: user cleanup
 * takes one transaction per user, STREAM eviction and compaction one per
 * table.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type_d.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "pgstat.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

#include "auth/login_failure.h"
#include "jobs/job_runner.h"
#include "jobs/worker_registry.h"
#include "kalamdb.h"

typedef struct Job
{
	char	   *job_id;
	char	   *job_type;
	char	   *parameters;		/* jsonb as text */
} Job;

typedef struct JobOutcome
{
	StringInfoData message;
	StringInfoData result;		/* a JSON object's members */
} JobOutcome;

/* where the worker's own allocations live between transactions */
static MemoryContext worker_cxt = NULL;

void
worker_begin(const char *activity)
{
	worker_cxt = CurrentMemoryContext;
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	PushActiveSnapshot(GetTransactionSnapshot());
	pgstat_report_activity(STATE_RUNNING, activity);
}

void
worker_commit(void)
{
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	/* back to the caller's context, not TopMemoryContext */
	MemoryContextSwitchTo(worker_cxt);
	pgstat_report_activity(STATE_IDLE, NULL);
	pgstat_report_stat(false);
}

/* Run sql with text arguments (at most 8). */
static void
spi_run(const char *sql, int nargs, const char **args)
{
	Oid			types[8];
	Datum		values[8];
	int			ret;

	Assert(nargs <= 8);
	for (int i = 0; i < nargs; i++)
	{
		types[i] = TEXTOID;
		values[i] = CStringGetTextDatum(args[i]);
	}
	ret = SPI_execute_with_args(sql, nargs, types, values, NULL, false, 0);
	if (ret < 0)
		elog(ERROR, "SPI_execute_with_args failed: %d", ret);
}

/*
 * spi_run(); the first column of the first row (copied out of SPI's memory,
 * so that it outlives the transaction), or NULL.
 */
static char *
spi_text(const char *sql, int nargs, const char **args)
{
	char	   *value;

	spi_run(sql, nargs, args);
	if (SPI_processed == 0 || SPI_tuptable == NULL)
		return NULL;
	value = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	return value ? MemoryContextStrdup(worker_cxt, value) : NULL;
}

/* spi_run(); the first column of every row but NULLs, as a List of strings in cxt. */
static List *
spi_text_column(const char *sql, int nargs, const char **args, MemoryContext cxt)
{
	List	   *result = NIL;
	MemoryContext old;

	spi_run(sql, nargs, args);
	old = MemoryContextSwitchTo(cxt);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		char	   *value = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);

		if (value != NULL)
			result = lappend(result, value);
	}
	MemoryContextSwitchTo(old);
	return result;
}

static char *
seconds(int secs)
{
	return psprintf("%d", secs);
}

/*
 * A job's outcome, recorded in its row.  The row may be held by a
 * transaction that cancels the job and stays open: the worker does not
 * wait for it (every other job, every queued failed login would wait
 * too), but keeps the outcome and tries again between jobs.  Should the
 * worker stop before, the job is marked failed when it starts again, as
 * one a crash left running.
 */
typedef enum RecordKind
{
	RECORD_COMPLETED,
	RECORD_FAILED,				/* retried while retries are left */
	RECORD_FAILED_FOR_GOOD
} RecordKind;

typedef struct JobRecord
{
	RecordKind	kind;
	char	   *args[3];		/* job id, message, result or error trace */
} JobRecord;

static List *unrecorded = NIL;	/* JobRecords kept in TopMemoryContext */

/* The ids of the jobs whose outcomes are kept, as a text[] literal */
static char *
kept_job_ids(void)
{
	StringInfoData ids;
	ListCell   *lc;

	initStringInfo(&ids);
	appendStringInfoChar(&ids, '{');
	foreach(lc, unrecorded)
		appendStringInfo(&ids, "%s\"%s\"", foreach_current_index(lc) > 0 ? "," : "",
						 ((JobRecord *) lfirst(lc))->args[0]);
	appendStringInfoChar(&ids, '}');
	return ids.data;
}

/* jobs left 'running' that fail_interrupted_jobs() is to fail (again) */
static bool interrupted_left = true;

void
fail_interrupted_jobs(bool always)
{
	const char *args[1];

	if (!always && !interrupted_left)
		return;
	args[0] = kept_job_ids();
	worker_begin("failing interrupted jobs");
	/* a row held (a kalam.cancel_job() in a transaction still open): next time */
	spi_run("UPDATE system.jobs SET status = 'failed', finished_at = now(), updated_at = now(), "
			"message = concat_ws('; ', message, 'interrupted: the server or the worker stopped while the job ran') "
			"WHERE job_id IN (SELECT job_id FROM system.jobs "
			"  WHERE status = 'running' AND job_id::text <> ALL ($1::text[]) FOR UPDATE SKIP LOCKED)",
			1, args);
	interrupted_left = spi_text("SELECT 1 FROM system.jobs WHERE status = 'running' "
								"AND job_id::text <> ALL ($1::text[])", 1, args) != NULL;
	worker_commit();
}

void
schedule_jobs(void)
{
	const char *args[5];

	args[0] = seconds(kalam_user_cleanup_interval);
	args[1] = seconds(kalam_job_cleanup_interval);
	args[2] = seconds(kalam_stream_eviction_interval);
	args[3] = seconds(kalam_live_query_cleanup_interval);
	args[4] = seconds(kalam_compact_interval);
	worker_begin("scheduling jobs");
	spi_text("SELECT kalam._job_schedule(jsonb_build_object("
			 "'user_cleanup', $1::int, 'job_cleanup', $2::int, "
			 "'stream_eviction', $3::int, 'live_query_cleanup', $4::int, "
			 "'compact', $5::int))",
			 5, args);
	worker_commit();
}

static bool
job_cancelled(Job *job)
{
	const char *args[1] = {job->job_id};
	char	   *status;
	bool		cancelled;

	worker_begin("checking for cancellation");
	status = spi_text("SELECT status::text FROM system.jobs WHERE job_id = $1::kalam.job_id", 1, args);
	cancelled = (status == NULL || strcmp(status, "cancelled") == 0);
	worker_commit();
	return cancelled;
}

/* Parameter with a default: the job fails if it is not of the given type. */
static char *
job_parameter(Job *job, const char *name, const char *type, const char *fallback)
{
	const char *args[3] = {job->parameters, name, fallback};
	char	   *sql = psprintf("SELECT coalesce(($1::jsonb ->> $2)::%s, $3::%s)::text", type, type);

	return spi_text(sql, 3, args);
}

/* Items a job could not do: how many, and the last one's error */
typedef struct ItemFailures
{
	int			count;
	int			sqlerrcode;
	char	   *last;
} ItemFailures;

/*
 * Run sql, whose $1 is an item of items (and $2 ... the nconsts consts),
 * for each item in a transaction of its own, stopping early if the job is
 * cancelled: adds the counts sql returns to *rows and the items done to
 * *done; where it returns NULL, the item counts as skipped if skipped is
 * given, else as done.  An item that fails is rolled back and counted in
 * *failed, and the others go on:
 * one table's trigger, say, must not keep every user from being purged.
 * True if cancelled.
 */
static bool
run_per_item(Job *job, List *items, const char *activity, const char *sql,
			 int nconsts, const char **consts,
			 int64 *rows, int *done, int *skipped, ItemFailures *failed)
{
	MemoryContext cxt = CurrentMemoryContext;
	ListCell   *lc;
	const char *item[4];

	Assert(nconsts < lengthof(item));
	for (int i = 0; i < nconsts; i++)
		item[i + 1] = consts[i];
	foreach(lc, items)
	{
		char	   *volatile n = NULL;
		volatile bool ok = true;

		item[0] = (char *) lfirst(lc);
		if (job_cancelled(job))
			return true;
		/* between items: failed logins wait for the worker to record them */
		login_failures_record_queued();
		PG_TRY();
		{
			worker_begin(activity);
			/*
			 * Rows held by someone's transaction left open fail the item
			 * (retried with the job) rather than hold up the worker, and
			 * with it every job and the recording of failed logins (a
			 * compaction sets a lock_timeout of its own).
			 */
			(void) set_config_option("lock_timeout", psprintf("%d", kalam_job_lock_timeout),
									 PGC_SUSET, PGC_S_SESSION, GUC_ACTION_LOCAL, true, 0, false);
			n = spi_text(sql, 1 + nconsts, item);
			worker_commit();
		}
		PG_CATCH();
		{
			ErrorData  *edata = kalam_abort_with_error(cxt);

			failed->count++;
			failed->sqlerrcode = edata->sqlerrcode;
			failed->last = psprintf("%s: %s", item[0], edata->message);
			FreeErrorData(edata);
			ok = false;
		}
		PG_END_TRY();
		if (!ok)
			continue;
		if (n == NULL && skipped != NULL)
			(*skipped)++;
		else
		{
			*rows += n ? strtoll(n, NULL, 10) : 0;
			(*done)++;
		}
	}
	return false;
}

static bool items_failed = false;	/* the running job's error is its items' */

/*
 * A job some of whose items failed fails, with what it did and the last
 * failure in its message (retried, it takes up what is left)
 */
static void
fail_if_items_failed(JobOutcome *out, const ItemFailures *failed, const char *items)
{
	items_failed = failed->count > 0;
	if (failed->count > 0)
		ereport(ERROR,
				(errcode(failed->sqlerrcode),
				 errmsg("%s; %d %s failed, the last: %s", out->message.data,
						failed->count, items, failed->last)));
}

static void
job_user_cleanup(Job *job, JobOutcome *out, MemoryContext cxt)
{
	List	   *users = NIL;
	const char *args[3];
	int			purged = 0;
	int			skipped = 0;
	int64		rows = 0;
	bool		cancelled;
	ItemFailures failed = {0};

	worker_begin("user cleanup: finding expired users");
	args[0] = job_parameter(job, "grace_period", "interval",
							psprintf("%d seconds", kalam_user_cleanup_grace_period));
	args[1] = job_parameter(job, "max_users", "integer", "100000");
	args[2] = job_parameter(job, "max_role", "kalam.role", "system");
	users = spi_text_column("SELECT u::text FROM kalam._job_expired_users($1::interval, $2::int, $3::kalam.role) u",
							3, args, cxt);
	worker_commit();

	/*
	 * one transaction per user, each checked again there: restored (and
	 * perhaps dropped again) or given a higher role since it was listed,
	 * a user is skipped
	 */
	cancelled = run_per_item(job, users, "user cleanup: purging a user",
							 "SELECT kalam._job_purge_user($1::kalam.user_id, $2::interval, $3::kalam.role)::text",
							 2, (const char *[]) {args[0], args[2]},
							 &rows, &purged, &skipped, &failed);

	appendStringInfo(&out->message, "purged %d users and " INT64_FORMAT " rows%s%s",
					 purged, rows,
					 skipped > 0 ? psprintf(", skipped %d no longer expired", skipped) : "",
					 cancelled ? " before being cancelled" : "");
	appendStringInfo(&out->result, "\"users\": %d, \"rows\": " INT64_FORMAT
					 ", \"skipped\": %d, \"grace_period\": \"%s\"", purged, rows, skipped, args[0]);
	fail_if_items_failed(out, &failed, "users");
}

static void
job_job_cleanup(Job *job, JobOutcome *out, MemoryContext cxt)
{
	const char *args[2];
	char	   *n;

	worker_begin("job retention");
	args[0] = job_parameter(job, "completed_age", "interval",
							psprintf("%d seconds", kalam_job_retention_completed));
	args[1] = job_parameter(job, "failed_age", "interval",
							psprintf("%d seconds", kalam_job_retention_failed));
	n = spi_text("SELECT kalam._job_cleanup_jobs($1::interval, $2::interval)::text", 2, args);
	worker_commit();
	appendStringInfo(&out->message, "removed %s old jobs", n);
	appendStringInfo(&out->result, "\"jobs\": %s", n);
}

static void
job_stream_eviction(Job *job, JobOutcome *out, MemoryContext cxt)
{
	List	   *tables;
	int64		rows = 0;
	int			done = 0;
	int			gone = 0;
	bool		cancelled;
	ItemFailures failed = {0};

	worker_begin("stream eviction: listing stream tables");
	tables = spi_text_column("SELECT table_id::text FROM system.tables WHERE table_type = 'stream' ORDER BY 1",
							 0, NULL, cxt);
	worker_commit();

	cancelled = run_per_item(job, tables, "stream eviction",
							 "SELECT kalam._job_evict_stream(t)::text FROM system.tables t "
							 "WHERE t.table_id = $1::kalam.table_id",
							 0, NULL, &rows, &done, &gone, &failed);
	appendStringInfo(&out->message, "evicted " INT64_FORMAT " rows from %d stream tables%s",
					 rows, done, cancelled ? " before being cancelled" : "");
	appendStringInfo(&out->result, "\"rows\": " INT64_FORMAT ", \"tables\": %d", rows, done);
	fail_if_items_failed(out, &failed, "tables");
}

static void
job_live_query_cleanup(Job *job, JobOutcome *out, MemoryContext cxt)
{
	char	   *n;

	worker_begin("removing stale live queries");
	n = spi_text("SELECT kalam._job_cleanup_live_queries()::text", 0, NULL);
	worker_commit();
	appendStringInfo(&out->message, "removed %s stale live queries", n);
	appendStringInfo(&out->result, "\"live_queries\": %s", n);
}

/* a job cancelled meanwhile stays so, its cancellation noted */
static const char *const record_sql[] = {
	[RECORD_COMPLETED] = "UPDATE system.jobs SET "
	"status = CASE WHEN status = 'running' THEN 'completed'::kalam.job_status ELSE status END, "
	"message = CASE WHEN status = 'running' THEN $2 ELSE concat_ws('; ', message, $2) END, "
	"parameters = parameters || jsonb_build_object('result', $3::jsonb), "
	"finished_at = CASE WHEN status = 'running' THEN now() ELSE coalesce(finished_at, now()) END, "
	"updated_at = now() "
	"WHERE job_id = $1::kalam.job_id",
	[RECORD_FAILED] = "UPDATE system.jobs SET "
	"status = CASE WHEN status <> 'running' THEN status "
	"  WHEN retry_count < max_retries THEN 'retrying'::kalam.job_status "
	"  ELSE 'failed'::kalam.job_status END, "
	"retry_count = retry_count + (status = 'running' AND retry_count < max_retries)::int, "
	"message = CASE WHEN status = 'running' THEN $2 ELSE concat_ws('; ', message, $2) END, "
	"exception_trace = $3, updated_at = now(), "
	"finished_at = CASE WHEN status <> 'running' THEN coalesce(finished_at, now()) "
	"  WHEN retry_count < max_retries THEN NULL ELSE now() END "
	"WHERE job_id = $1::kalam.job_id",
	[RECORD_FAILED_FOR_GOOD] = "UPDATE system.jobs SET "
	"status = CASE WHEN status <> 'running' THEN status ELSE 'failed'::kalam.job_status END, "
	"message = CASE WHEN status = 'running' THEN $2 ELSE concat_ws('; ', message, $2) END, "
	"exception_trace = $3, updated_at = now(), "
	"finished_at = CASE WHEN status <> 'running' THEN coalesce(finished_at, now()) ELSE now() END "
	"WHERE job_id = $1::kalam.job_id"
};

/*
 * An error a retry would meet again: from the job's parameters, or what
 * they name.  Not one of its items' (a user, a table), which another run
 * may get past: a row held, a table owner's trigger.
 */
static bool
error_is_permanent(int sqlerrcode)
{
	int			category = ERRCODE_TO_CATEGORY(sqlerrcode);

	if (items_failed)
		return false;
	return category == ERRCODE_DATA_EXCEPTION ||
		category == ERRCODE_INVALID_SCHEMA_NAME ||
		category == ERRCODE_SYNTAX_ERROR_OR_ACCESS_RULE_VIOLATION;
}

/* Record the outcome, unless the job's row is held; true if done (or the row is gone) */
static bool
record_outcome(RecordKind kind, const char *const *args)
{
	bool		done;

	worker_begin(kind == RECORD_COMPLETED ? "completing a job" : "recording a failed job");
	done = spi_text("SELECT job_id FROM system.jobs WHERE job_id = $1::kalam.job_id "
					"FOR UPDATE SKIP LOCKED", 1, (const char **) args) != NULL ||
		spi_text("SELECT job_id FROM system.jobs WHERE job_id = $1::kalam.job_id",
				 1, (const char **) args) == NULL;
	if (done)
		spi_run(record_sql[kind], 3, (const char **) args);
	worker_commit();
	return done;
}

static void
record_outcome_or_keep(RecordKind kind, const char *const *args)
{
	MemoryContext old;
	JobRecord  *r;

	if (record_outcome(kind, args))
		return;
	old = MemoryContextSwitchTo(TopMemoryContext);
	r = palloc(sizeof(JobRecord));
	r->kind = kind;
	for (int i = 0; i < 3; i++)
		r->args[i] = pstrdup(args[i]);
	unrecorded = lappend(unrecorded, r);
	MemoryContextSwitchTo(old);
}

void
record_kept_outcomes(void)
{
	MemoryContext cxt = CurrentMemoryContext;
	ListCell   *lc;

	foreach(lc, unrecorded)
	{
		JobRecord  *r = (JobRecord *) lfirst(lc);
		volatile bool done = false;

		PG_TRY();
		{
			done = record_outcome(r->kind, (const char *const *) r->args);
		}
		PG_CATCH();
		{
			/* not a held row (that is passed over): it would fail every time */
			ErrorData  *edata = kalam_abort_with_error(cxt);

			ereport(WARNING,
					(errmsg("gave up recording the outcome of kalamdb job %s: %s",
							r->args[0], edata->message)));
			FreeErrorData(edata);
			done = true;
			interrupted_left = true;	/* it is failed as interrupted */
		}
		PG_END_TRY();
		MemoryContextSwitchTo(cxt);
		if (!done)
			continue;
		for (int i = 0; i < 3; i++)
			pfree(r->args[i]);
		pfree(r);
		unrecorded = foreach_delete_current(unrecorded, lc);
	}
}

/*
 * compact: kalam.compact() on the registered USER or STREAM table the
 * parameter "table" names, or on every one stored by kalamdb; one
 * transaction per table, each waiting at most lock_timeout (1s) for its
 * lock, since writers queue behind a lock request.  A table that is busy,
 * published or gone is skipped (kalam._job_compact()).
 */
static void
job_compact(Job *job, JobOutcome *out, MemoryContext cxt)
{
	const char *args[1] = {job->parameters};
	char	   *lock_timeout;
	List	   *tables;
	int64		rows = 0;
	int			done = 0;
	int			skipped = 0;
	bool		cancelled;
	char	   *sql;
	ItemFailures failed = {0};

	worker_begin("compact: listing tables");
	lock_timeout = job_parameter(job, "lock_timeout", "text", "1s");
	tables = spi_text_column("SELECT t::text FROM kalam._job_compact_tables($1::jsonb ->> 'table') t",
							 1, args, cxt);
	worker_commit();

	sql = psprintf("SELECT kalam._job_compact($1::oid, %s)::text",
				   quote_literal_cstr(lock_timeout));
	cancelled = run_per_item(job, tables, "compact", sql, 0, NULL, &rows, &done, &skipped, &failed);
	appendStringInfo(&out->message, "moved " INT64_FORMAT " rows in %d tables%s%s",
					 rows, done,
					 skipped > 0 ? psprintf(", skipped %d busy or published", skipped) : "",
					 cancelled ? " before being cancelled" : "");
	appendStringInfo(&out->result, "\"rows\": " INT64_FORMAT ", \"tables\": %d, \"skipped\": %d",
					 rows, done, skipped);
	fail_if_items_failed(out, &failed, "tables");
}

static void
run_job(Job *job, JobOutcome *out, MemoryContext cxt)
{
	if (strcmp(job->job_type, "user_cleanup") == 0)
		job_user_cleanup(job, out, cxt);
	else if (strcmp(job->job_type, "job_cleanup") == 0)
		job_job_cleanup(job, out, cxt);
	else if (strcmp(job->job_type, "stream_eviction") == 0)
		job_stream_eviction(job, out, cxt);
	else if (strcmp(job->job_type, "live_query_cleanup") == 0)
		job_live_query_cleanup(job, out, cxt);
	else if (strcmp(job->job_type, "compact") == 0)
		job_compact(job, out, cxt);
	else
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("job type %s is not run by this server", job->job_type),
				 errdetail("kalamdb runs user_cleanup, job_cleanup, stream_eviction, live_query_cleanup and compact jobs.")));
}

bool
run_next_job(void)
{
	MemoryContext caller = CurrentMemoryContext;
	MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext, "kalamdb job",
											  ALLOCSET_DEFAULT_SIZES);
	MemoryContext old;
	Job			job;
	JobOutcome	out;
	int			ret;

	worker_begin("claiming a job");
	ret = SPI_execute("UPDATE system.jobs j SET status = 'running', started_at = now(), "
					  "updated_at = now(), finished_at = NULL "
					  "WHERE j.job_id = (SELECT job_id FROM system.jobs "
					  "  WHERE status = 'queued' OR (status = 'retrying' AND "
					  "    updated_at < now() - make_interval(secs => retry_count)) "
					  "  ORDER BY created_at, job_id FOR UPDATE SKIP LOCKED LIMIT 1) "
					  "RETURNING job_id::text, job_type::text, parameters::text",
					  false, 0);
	if (ret != SPI_OK_UPDATE_RETURNING)
		elog(ERROR, "could not claim a job: %d", ret);
	if (SPI_processed == 0)
	{
		worker_commit();
		MemoryContextDelete(cxt);
		return false;
	}
	old = MemoryContextSwitchTo(cxt);
	job.job_id = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	job.job_type = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
	job.parameters = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3);
	initStringInfo(&out.message);
	initStringInfo(&out.result);
	MemoryContextSwitchTo(old);
	worker_commit();

	elog(DEBUG1, "kalamdb worker: running job %s (%s)", job.job_id, job.job_type);
	PG_TRY();
	{
		const char *args[3];

		items_failed = false;
		run_job(&job, &out, cxt);

		args[0] = job.job_id;
		args[1] = out.message.data;
		args[2] = psprintf("{%s}", out.result.data);
		record_outcome_or_keep(RECORD_COMPLETED, args);
	}
	PG_CATCH();
	{
		ErrorData  *edata;
		const char *args[3];

		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		AbortCurrentTransaction();
		/* (outside a transaction, the abort leaves us in cxt) */
		MemoryContextSwitchTo(caller);

		args[0] = job.job_id;
		args[1] = edata->message ? edata->message : "unknown error";
		args[2] = psprintf("ERROR %s: %s%s%s%s%s",
						   unpack_sql_state(edata->sqlerrcode), args[1],
						   edata->detail ? "\nDETAIL: " : "", edata->detail ? edata->detail : "",
						   edata->context ? "\nCONTEXT: " : "", edata->context ? edata->context : "");
		ereport(LOG,
				(errmsg("kalamdb job %s (%s) failed: %s", job.job_id, job.job_type, args[1])));
		record_outcome_or_keep(error_is_permanent(edata->sqlerrcode) ?
							   RECORD_FAILED_FOR_GOOD : RECORD_FAILED, args);
	}
	PG_END_TRY();
	MemoryContextSwitchTo(caller);
	MemoryContextDelete(cxt);
	return true;
}
