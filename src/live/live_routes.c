/*-------------------------------------------------------------------------
 *
 * live_routes.c
 *	  Shared-memory routing of changes to live queries, and delivery
 *	  counters.
 *
 * Routes: a hash table keyed by (database, table, owner) holding how many
 * subscriptions watch that owner's rows of that table (owner "" for a
 * shared table) and a version that changes with every subscribe and
 * unsubscribe.  The change trigger (live_trigger.c) looks here first and
 * only loads subscriptions, and only those of the row's owner, when the
 * count is not zero.  Routes follow system.live_queries: changes are
 * applied when the subscribing transaction commits; the worker rebuilds
 * them from the table at start and after removing stale subscriptions.
 *
 * Counters: deliveries per subscription, added when the writing
 * transaction commits (a NOTIFY is only delivered then), and copied into
 * system.live_queries.changes / last_update by the worker.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type_d.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "jobs/job_runner.h"
#include "kalamdb.h"
#include "live/live_routes.h"

#define LIVE_LOCK_TRANCHE "kalamdb live queries"

typedef struct RouteKey
{
	Oid			dbid;
	Oid			relid;
	uint8		owner_len;
	char		owner[USER_ID_MAX_LEN];
} RouteKey;

typedef struct RouteEntry
{
	RouteKey	key;
	int32		subscriptions;
	uint64		version;
} RouteEntry;

typedef struct CounterKey
{
	Oid			dbid;
	char		live_id[LIVE_ID_MAX_LEN + 1];
} CounterKey;

typedef struct CounterEntry
{
	CounterKey	key;
	int64		changes;
	TimestampTz last_update;
	bool		dirty;
} CounterEntry;

typedef struct LiveShared
{
	LWLock	   *lock;
	pg_atomic_uint64 next_version;
} LiveShared;

int			kalam_max_live_queries = 10000;
int			kalam_max_live_queries_per_user = 100;

static LiveShared *live_shared = NULL;
static HTAB *routes = NULL;
static HTAB *counters = NULL;

/*
 * This backend's changes, applied at commit.  Each remembers the
 * subtransaction it was made in, so that a rolled-back subtransaction
 * takes its changes with it.
 */
typedef struct PendingRoute
{
	int			nest_level;
	Oid			relid;
	int			delta;
	uint8		owner_len;
	char		owner[USER_ID_MAX_LEN];
} PendingRoute;

typedef struct PendingDelivery
{
	int			nest_level;
	char		live_id[LIVE_ID_MAX_LEN + 1];
} PendingDelivery;

static List *pending_routes = NIL;
static List *pending_deliveries = NIL;
static bool xact_callback_registered = false;

/* counters copied out under the lock, written out after (live_flush_counters) */
typedef struct CounterCopy
{
	char		live_id[LIVE_ID_MAX_LEN + 1];
	int64		changes;
	TimestampTz last_update;
	bool		held;			/* its row was held by another transaction */
} CounterCopy;

/* The key of a subscription's counter */
static void
counter_key(CounterKey *key, Oid dbid, const char *live_id)
{
	memset(key, 0, sizeof(*key));
	key->dbid = dbid;
	strlcpy(key->live_id, live_id, sizeof(key->live_id));
}

void
live_define_gucs(void)
{
	DefineCustomIntVariable("kalam.max_live_queries",
							"Live queries the server can route at once.",
							NULL, &kalam_max_live_queries,
							10000, 16, 1000000, PGC_POSTMASTER, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("kalam.max_live_queries_per_user",
							"Live queries one kalamdb user may have at once, over all sessions.",
							"Every write to a shared table is matched against every "
							"subscription to it: one user's subscriptions must not make "
							"everyone's writes slow.",
							&kalam_max_live_queries_per_user,
							100, 1, 1000000, PGC_SUSET, 0, NULL, NULL, NULL);
}

Size
live_shmem_size(void)
{
	Size		size = MAXALIGN(sizeof(LiveShared));

	size = add_size(size, hash_estimate_size(kalam_max_live_queries, sizeof(RouteEntry)));
	size = add_size(size, hash_estimate_size(kalam_max_live_queries, sizeof(CounterEntry)));
	return size;
}

void
live_shmem_request(void)
{
	RequestNamedLWLockTranche(LIVE_LOCK_TRANCHE, 1);
}

void
live_shmem_init(void)
{
	bool		found;
	HASHCTL		info;

	live_shared = ShmemInitStruct("kalamdb live queries", sizeof(LiveShared), &found);
	if (!found)
	{
		live_shared->lock = &(GetNamedLWLockTranche(LIVE_LOCK_TRANCHE))->lock;
		pg_atomic_init_u64(&live_shared->next_version, 1);
	}

	memset(&info, 0, sizeof(info));
	info.keysize = sizeof(RouteKey);
	info.entrysize = sizeof(RouteEntry);
	routes = ShmemInitHash("kalamdb live query routes", kalam_max_live_queries,
						   kalam_max_live_queries, &info, HASH_ELEM | HASH_BLOBS | HASH_FIXED_SIZE);

	memset(&info, 0, sizeof(info));
	info.keysize = sizeof(CounterKey);
	info.entrysize = sizeof(CounterEntry);
	counters = ShmemInitHash("kalamdb live query counters", kalam_max_live_queries,
							 kalam_max_live_queries, &info, HASH_ELEM | HASH_BLOBS | HASH_FIXED_SIZE);
}

static void
make_route_key(RouteKey *key, Oid dbid, Oid relid, const char *owner, int owner_len)
{
	memset(key, 0, sizeof(RouteKey));
	key->dbid = dbid;
	key->relid = relid;
	key->owner_len = (uint8) owner_len;
	memcpy(key->owner, owner, owner_len);
}

uint64
live_route_version(Oid relid, const char *owner, int owner_len)
{
	RouteKey	key;
	RouteEntry *entry;
	uint64		version = 0;

	if (routes == NULL)
		return 0;
	make_route_key(&key, MyDatabaseId, relid, owner, owner_len);
	LWLockAcquire(live_shared->lock, LW_SHARED);
	entry = hash_search(routes, &key, HASH_FIND, NULL);
	if (entry && entry->subscriptions > 0)
		version = entry->version;
	LWLockRelease(live_shared->lock);
	return version;
}

/* Add delta to a route's count and give it a new version; lock held */
static bool
route_change_locked(const RouteKey *key, int delta)
{
	RouteEntry *entry;
	bool		found;

	entry = hash_search(routes, key, delta > 0 ? HASH_ENTER_NULL : HASH_FIND, &found);
	if (entry == NULL)
		return delta <= 0;
	if (!found)
		entry->subscriptions = 0;
	entry->subscriptions += delta;
	entry->version = pg_atomic_fetch_add_u64(&live_shared->next_version, 1);
	if (entry->subscriptions <= 0)
		hash_search(routes, key, HASH_REMOVE, NULL);
	return true;
}

/*
 * The route of each subscription (its table, and its owner, "" on a shared
 * table), as live_route_of_spi_row() reads a row of it
 */
#define SUBSCRIPTION_ROUTES \
	"SELECT t.relation::oid, CASE WHEN t.table_type = 'shared' THEN '' " \
	"ELSE q.user_id::text END FROM system.live_queries q " \
	"JOIN system.tables t USING (table_id)"

void
live_route_of_spi_row(uint64 i, Oid *relid, char **owner)
{
	bool		isnull;

	*relid = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
	*owner = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2);
}

static void
warn_routes_full(void)
{
	ereport(WARNING,
			(errcode(ERRCODE_OUT_OF_MEMORY),
			 errmsg("no room to route more live queries"),
			 errhint("Increase kalam.max_live_queries.")));
}

void
live_route_change_now(Oid dbid, Oid relid, const char *owner, int owner_len, int delta)
{
	RouteKey	key;
	bool		done;

	make_route_key(&key, dbid, relid, owner, owner_len);
	LWLockAcquire(live_shared->lock, LW_EXCLUSIVE);
	done = route_change_locked(&key, delta);
	LWLockRelease(live_shared->lock);
	if (!done)
		warn_routes_full();
}

static void
count_deliveries(Oid dbid, List *deliveries)
{
	ListCell   *lc;
	TimestampTz now = GetCurrentTimestamp();

	LWLockAcquire(live_shared->lock, LW_EXCLUSIVE);
	foreach(lc, deliveries)
	{
		CounterKey	key;
		CounterEntry *entry;
		bool		found;

		counter_key(&key, dbid, ((PendingDelivery *) lfirst(lc))->live_id);
		entry = hash_search(counters, &key, HASH_ENTER_NULL, &found);
		if (entry == NULL)
			continue;			/* full: this count is lost, the rows are fine */
		if (!found)
			entry->changes = 0;
		entry->changes++;
		entry->last_update = now;
		entry->dirty = true;
	}
	LWLockRelease(live_shared->lock);
}

static inline bool
same_route(const PendingRoute *a, const PendingRoute *b)
{
	return a->relid == b->relid && a->owner_len == b->owner_len &&
		memcmp(a->owner, b->owner, a->owner_len) == 0;
}

/*
 * Before a transaction that subscribed commits: is there room for the
 * routes it adds, counting those it frees?  A subscription that could not
 * be routed would be listed, and get nothing.  (Others committing at the
 * same moment may still take the room: then a warning, as before.)
 */
static void
refuse_unroutable_subscriptions(void)
{
	PendingRoute **routes_changed = palloc(list_length(pending_routes) * sizeof(PendingRoute *));
	int		   *net = palloc0(list_length(pending_routes) * sizeof(int));
	int			n = 0;
	long		needed = 0;
	long		freed = 0;
	long		used;
	ListCell   *lc;

	/* each route once, with its net change */
	foreach(lc, pending_routes)
	{
		PendingRoute *r = (PendingRoute *) lfirst(lc);
		int			i = 0;

		while (i < n && !same_route(routes_changed[i], r))
			i++;
		if (i == n)
			routes_changed[n++] = r;
		net[i] += r->delta;
	}

	LWLockAcquire(live_shared->lock, LW_SHARED);
	used = hash_get_num_entries(routes);
	for (int i = 0; i < n; i++)
	{
		PendingRoute *r = routes_changed[i];
		RouteKey	key;
		RouteEntry *entry;

		if (net[i] == 0)
			continue;
		make_route_key(&key, MyDatabaseId, r->relid, r->owner, r->owner_len);
		entry = hash_search(routes, &key, HASH_FIND, NULL);
		if (net[i] > 0 && entry == NULL)
			needed++;
		else if (net[i] < 0 && entry != NULL && entry->subscriptions + net[i] <= 0)
			freed++;
	}
	LWLockRelease(live_shared->lock);
	pfree(routes_changed);
	pfree(net);
	if (needed > 0 && used - freed + needed > kalam_max_live_queries)
		ereport(ERROR,
				(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
				 errmsg("no room to route more live queries"),
				 errdetail("kalam.max_live_queries (%d) routes are in use.", kalam_max_live_queries),
				 errhint("Increase kalam.max_live_queries.")));
}

static void
live_xact_callback(XactEvent event, void *arg)
{
	ListCell   *lc;

	if (event == XACT_EVENT_PRE_COMMIT && pending_routes != NIL)
		refuse_unroutable_subscriptions();

	if (event == XACT_EVENT_PRE_PREPARE && pending_deliveries != NIL)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot PREPARE a transaction that changed rows live queries watch"),
				 errdetail("Live queries are delivered with NOTIFY, which a prepared transaction cannot send.")));
	if (event == XACT_EVENT_PRE_PREPARE && pending_routes != NIL)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot PREPARE a transaction that changed live queries")));
	if (event != XACT_EVENT_COMMIT && event != XACT_EVENT_ABORT &&
		event != XACT_EVENT_PARALLEL_COMMIT && event != XACT_EVENT_PARALLEL_ABORT)
		return;
	if (event == XACT_EVENT_COMMIT)
	{
		foreach(lc, pending_routes)
		{
			PendingRoute *r = (PendingRoute *) lfirst(lc);

			live_route_change_now(MyDatabaseId, r->relid, r->owner, r->owner_len, r->delta);
		}
		if (pending_deliveries != NIL)
			count_deliveries(MyDatabaseId, pending_deliveries);
	}
	/* the lists live in TopTransactionContext, which is going away */
	pending_routes = NIL;
	pending_deliveries = NIL;
}

/* A subtransaction ends: its changes go with it, or to its parent. */
static void
live_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
					  SubTransactionId parentSubid, void *arg)
{
	int			level = GetCurrentTransactionNestLevel();
	ListCell   *lc;

	if (event == SUBXACT_EVENT_ABORT_SUB)
	{
		foreach(lc, pending_routes)
		{
			if (((PendingRoute *) lfirst(lc))->nest_level >= level)
				pending_routes = foreach_delete_current(pending_routes, lc);
		}
		foreach(lc, pending_deliveries)
		{
			if (((PendingDelivery *) lfirst(lc))->nest_level >= level)
				pending_deliveries = foreach_delete_current(pending_deliveries, lc);
		}
	}
	else if (event == SUBXACT_EVENT_COMMIT_SUB)
	{
		foreach(lc, pending_routes)
		{
			PendingRoute *r = (PendingRoute *) lfirst(lc);

			if (r->nest_level >= level)
				r->nest_level = level - 1;
		}
		foreach(lc, pending_deliveries)
		{
			PendingDelivery *d = (PendingDelivery *) lfirst(lc);

			if (d->nest_level >= level)
				d->nest_level = level - 1;
		}
	}
}

static void
ensure_xact_callback(void)
{
	if (!xact_callback_registered)
	{
		RegisterXactCallback(live_xact_callback, NULL);
		RegisterSubXactCallback(live_subxact_callback, NULL);
		xact_callback_registered = true;
	}
}

void
live_route_change_at_commit(Oid relid, const char *owner, int owner_len, int delta)
{
	MemoryContext old = MemoryContextSwitchTo(TopTransactionContext);
	PendingRoute *r = palloc0(sizeof(PendingRoute));

	r->nest_level = GetCurrentTransactionNestLevel();
	r->relid = relid;
	r->delta = delta;
	r->owner_len = (uint8) owner_len;
	memcpy(r->owner, owner, owner_len);
	pending_routes = lappend(pending_routes, r);
	MemoryContextSwitchTo(old);
	ensure_xact_callback();
}

void
live_count_delivery_at_commit(const char *live_id)
{
	MemoryContext old = MemoryContextSwitchTo(TopTransactionContext);
	PendingDelivery *d = palloc(sizeof(PendingDelivery));

	d->nest_level = GetCurrentTransactionNestLevel();
	strlcpy(d->live_id, live_id, sizeof(d->live_id));
	pending_deliveries = lappend(pending_deliveries, d);
	MemoryContextSwitchTo(old);
	ensure_xact_callback();
}

/* Forget every route of a database (before a rebuild); lock held */
static void
clear_routes_locked(Oid dbid)
{
	HASH_SEQ_STATUS status;
	RouteEntry *entry;

	hash_seq_init(&status, routes);
	while ((entry = hash_seq_search(&status)) != NULL)
	{
		if (entry->key.dbid == dbid)
			hash_search(routes, &entry->key, HASH_REMOVE, NULL);
	}
}

/* Forget the counters of this database's subscriptions that are gone. */
static void
prune_counters(void)
{
	HASH_SEQ_STATUS status;
	CounterEntry *entry;
	int			max = kalam_max_live_queries;
	char	  (*ids)[LIVE_ID_MAX_LEN + 1] = palloc(sizeof(*ids) * max);
	int			n = 0;

	LWLockAcquire(live_shared->lock, LW_SHARED);
	hash_seq_init(&status, counters);
	while ((entry = hash_seq_search(&status)) != NULL)
	{
		if (entry->key.dbid == MyDatabaseId && n < max)
			memcpy(ids[n++], entry->key.live_id, sizeof(ids[0]));
	}
	LWLockRelease(live_shared->lock);

	for (int i = 0; i < n; i++)
	{
		Datum		args[1] = {CStringGetTextDatum(ids[i])};
		Oid			types[1] = {TEXTOID};

		SPI_execute_with_args("SELECT 1 FROM system.live_queries WHERE live_id = $1::kalam.live_query_id",
							  1, types, args, NULL, false, 1);
		if (SPI_processed == 0)
		{
			CounterKey	key;

			counter_key(&key, MyDatabaseId, ids[i]);
			LWLockAcquire(live_shared->lock, LW_EXCLUSIVE);
			hash_search(counters, &key, HASH_REMOVE, NULL);
			LWLockRelease(live_shared->lock);
		}
	}
	pfree(ids);
}

/* how long a rebuild waits for subscribes in progress, in steps of 10 ms */
#define REBUILD_LOCK_TRIES	100

/*
 * Hold off subscribes and unsubscribes (which write system.live_queries
 * and change routes when they commit) until this transaction ends; false
 * if some are still in progress after a second.  The lock is not queued
 * for: a waiting request would make every later subscribe wait behind it,
 * for as long as a session keeps a subscribing transaction open.
 */
static bool
lock_live_queries(void)
{
	Oid			relid = get_relname_relid("live_queries", get_namespace_oid("system", false));

	if (!OidIsValid(relid))
		elog(ERROR, "system.live_queries is missing");
	for (int i = 0; i < REBUILD_LOCK_TRIES; i++)
	{
		if (ConditionalLockRelationOid(relid, ShareRowExclusiveLock))
			return true;
		/* a sleep, not the latch: a wake-up meant for the worker stays set */
		pg_usleep(10 * 1000L);
		CHECK_FOR_INTERRUPTS();
	}
	return false;
}

/*
 * kalam._live_routes_rebuild(): routes of this database from
 * system.live_queries; NULL if subscribes in progress kept it from
 * starting (routes then stay as they are: at worst they count
 * subscriptions that are gone, which costs writers a look, no delivery).
 * Owner-only; the worker calls it.
 */
PG_FUNCTION_INFO_V1(kalam_live_routes_rebuild);
Datum
kalam_live_routes_rebuild(PG_FUNCTION_ARGS)
{
	RouteKey   *keys;
	uint64		n;
	bool		full = false;

	kalam_require_preload("kalam._live_routes_rebuild()");
	/*
	 * No subscribe or unsubscribe may commit between reading the table and
	 * replacing the routes (their own route changes would be lost).
	 */
	if (!lock_live_queries())
		PG_RETURN_NULL();
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute(SUBSCRIPTION_ROUTES, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read system.live_queries");

	n = SPI_processed;
	keys = palloc(sizeof(RouteKey) * Max(n, 1));
	for (uint64 i = 0; i < n; i++)
	{
		Oid			relid;
		char	   *owner;

		live_route_of_spi_row(i, &relid, &owner);
		make_route_key(&keys[i], MyDatabaseId, relid, owner, (int) strlen(owner));
	}

	/*
	 * The routes are replaced at once: a writer never finds them cleared
	 * and not yet refilled (and would deliver nothing)
	 */
	LWLockAcquire(live_shared->lock, LW_EXCLUSIVE);
	clear_routes_locked(MyDatabaseId);
	for (uint64 i = 0; i < n; i++)
		full |= !route_change_locked(&keys[i], 1);
	LWLockRelease(live_shared->lock);
	if (full)
		warn_routes_full();
	prune_counters();
	SPI_finish();
	PG_RETURN_INT64((int64) n);
}

/*
 * kalam._live_user_routes_at_commit(user_id, delta): when this transaction
 * commits, add delta to the routes of each of the user's subscriptions,
 * or, with 0, give them new versions, so that writers load them again and
 * check anew that the user may still see the rows (kalam.set_role(): a
 * shared table's access level).  drop_user passes -1 before deleting the
 * subscriptions; a rollback then leaves the routes as they were.
 */
PG_FUNCTION_INFO_V1(kalam_live_user_routes_at_commit);
Datum
kalam_live_user_routes_at_commit(PG_FUNCTION_ARGS)
{
	Datum		user_id = PG_GETARG_DATUM(0);
	int32		delta = PG_GETARG_INT32(1);
	Oid			argtypes[1] = {TEXTOID};

	kalam_require_preload("kalam._live_user_routes_at_commit()");
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute_with_args(SUBSCRIPTION_ROUTES " WHERE q.user_id::text = $1",
							  1, argtypes, &user_id, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read system.live_queries");
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		Oid			relid;
		char	   *owner;

		live_route_of_spi_row(i, &relid, &owner);
		live_route_change_at_commit(relid, owner, (int) strlen(owner), delta);
	}
	SPI_finish();
	PG_RETURN_VOID();
}

void
live_worker_startup(void)
{
	worker_begin("removing stale live queries");
	SPI_execute("SELECT kalam._job_cleanup_live_queries()", false, 0);
	worker_commit();
}

void
live_flush_counters(void)
{
	HASH_SEQ_STATUS status;
	CounterEntry *entry;
	int			max = kalam_max_live_queries;
	CounterCopy *copies = palloc(sizeof(CounterCopy) * max);
	int			n = 0;

	/* copy the changed counters without allocating under the lock */
	LWLockAcquire(live_shared->lock, LW_EXCLUSIVE);
	hash_seq_init(&status, counters);
	while ((entry = hash_seq_search(&status)) != NULL)
	{
		if (entry->key.dbid != MyDatabaseId || !entry->dirty || n >= max)
			continue;
		memcpy(copies[n].live_id, entry->key.live_id, sizeof(copies[n].live_id));
		copies[n].changes = entry->changes;
		copies[n].last_update = entry->last_update;
		copies[n].held = false;
		entry->dirty = false;
		n++;
	}
	LWLockRelease(live_shared->lock);
	if (n == 0)
	{
		pfree(copies);
		return;
	}

	/*
	 * A row another transaction holds is passed over, not waited for: a
	 * session that ends deletes its subscriptions' rows, and waiting for
	 * one of them while holding another would deadlock with it.  Its
	 * counter is written next time (the row, if it stays).
	 */
	worker_begin("recording live query counters");
	for (int i = 0; i < n; i++)
	{
		Datum		args[3];
		Oid			types[3] = {TEXTOID, INT8OID, TIMESTAMPTZOID};

		args[0] = CStringGetTextDatum(copies[i].live_id);
		args[1] = Int64GetDatum(copies[i].changes);
		args[2] = TimestampTzGetDatum(copies[i].last_update);
		SPI_execute_with_args("WITH free AS (SELECT live_id FROM system.live_queries "
							  "  WHERE live_id = $1::kalam.live_query_id FOR NO KEY UPDATE SKIP LOCKED) "
							  "UPDATE system.live_queries q SET changes = $2, last_update = $3 "
							  "FROM free WHERE q.live_id = free.live_id",
							  3, types, args, NULL, false, 0);
		if (SPI_processed == 0)
		{
			/* held, or gone (then nothing is left to write) */
			SPI_execute_with_args("SELECT 1 FROM system.live_queries WHERE live_id = $1::kalam.live_query_id",
								  1, types, args, NULL, true, 1);
			copies[i].held = (SPI_processed > 0);
		}
	}
	worker_commit();

	/* the counters of rows passed over stay to be written */
	LWLockAcquire(live_shared->lock, LW_EXCLUSIVE);
	for (int i = 0; i < n; i++)
	{
		CounterKey	key;

		if (!copies[i].held)
			continue;
		counter_key(&key, MyDatabaseId, copies[i].live_id);
		entry = hash_search(counters, &key, HASH_FIND, NULL);
		if (entry != NULL)
			entry->dirty = true;
	}
	LWLockRelease(live_shared->lock);
	pfree(copies);
}
