/*-------------------------------------------------------------------------
 *
 * live_trigger.c
 *	  Delivering committed changes to live queries: the AFTER ROW trigger
 *	  kalam._live_query_trigger(), installed by kalam.register_table().
 *
 * For each changed row, the trigger takes the row's owner (old and new,
 * for an update that moves the row) and asks the shared routes
 * (live_routes.c) whether any subscription watches that owner's rows of
 * this table.  Only then does it load those subscriptions, and only those
 * (cached per backend until the route's version changes), evaluate each
 * one's WHERE on the old and new row, and NOTIFY the subscription's
 * channel with JSON: the operation, the projected row and, for updates
 * and deletes, the projected old row.  NOTIFY is transactional: nothing
 * is delivered unless the writer commits.
 *
 * A payload over NOTIFY's limit is replaced by a key-only message (the
 * primary key, or the row's ctid) marked "truncated", for the client to
 * fetch; nothing is dropped silently.
 *
 * The same function, as an AFTER TRUNCATE statement trigger, tells every
 * subscription of the table that the table was emptied.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/detoast.h"
#include "access/genam.h"
#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/dependency.h"
#include "catalog/namespace.h"
#include "catalog/pg_collation_d.h"
#include "catalog/pg_operator_d.h"
#include "catalog/pg_proc_d.h"
#include "catalog/pg_type_d.h"
#include "commands/async.h"
#include "commands/extension.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "nodes/nodeFuncs.h"
#include "miscadmin.h"
#include "optimizer/optimizer.h"
#include "pgtime.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/json.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/resowner.h"
#include "utils/relcache.h"
#include "utils/inval.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

#include "keys/key_kind.h"
#include "am/rel_cache.h"
#include "live/live_query.h"
#include "live/live_routes.h"

/* NOTIFY's limit (async.c): channel and payload together under a page */
#define NOTIFY_PAYLOAD_LIMIT (BLCKSZ - NAMEDATALEN - 128)

typedef struct LiveSub
{
	char	   *live_id;
	char	   *channel;
	char	   *table_id;
	ExprState  *qual;			/* NULL: every row */
	int			ncols;
	AttrNumber *cols;
	TupleDesc	desc;			/* blessed, for row_to_json */
	bool		guarded;		/* some projected type may print far larger
								 * than it is stored: see deliver() */
	Bitmapset  *needed;			/* the columns its WHERE and payload read,
								 * as attribute numbers */
} LiveSub;

typedef struct SubCacheKey
{
	Oid			relid;
	uint8		owner_len;
	char		owner[USER_ID_MAX_LEN];
} SubCacheKey;

typedef struct SubCacheEntry
{
	SubCacheKey key;
	uint64		version;
	MemoryContext cxt;
	List	   *subs;
	int			in_use;			/* route()s going through subs */
} SubCacheEntry;

static HTAB *sub_cache = NULL;

/*
 * Lists replaced while a route() went through them: delivering a row can
 * run the table's own code (a cast to json, say) that changes the table
 * again, whose trigger reloads the same key's subscriptions.  They are
 * freed when the transaction ends, when no route() runs any more.
 */
static List *retired_lists = NIL;

/*
 * The notifications this transaction has sent: each carries its number
 * ("seq"), as NOTIFY folds identical payloads of one transaction into one
 * (three equal rows inserted would arrive once).
 */
static uint64 notifications_sent = 0;

/* route()s under way in this backend: none but those an error cut short */
static int	routes_under_way = 0;

static void
live_xact_callback(XactEvent event, void *arg)
{
	HASH_SEQ_STATUS status;
	SubCacheEntry *entry;
	ListCell   *lc;

	if (event != XACT_EVENT_COMMIT && event != XACT_EVENT_ABORT &&
		event != XACT_EVENT_PREPARE && event != XACT_EVENT_PARALLEL_COMMIT &&
		event != XACT_EVENT_PARALLEL_ABORT)
		return;
	notifications_sent = 0;
	foreach(lc, retired_lists)
		MemoryContextDelete((MemoryContext) lfirst(lc));
	list_free(retired_lists);
	retired_lists = NIL;
	/* route()s an error cut short left their marks */
	if (routes_under_way == 0 || sub_cache == NULL)
		return;
	hash_seq_init(&status, sub_cache);
	while ((entry = hash_seq_search(&status)) != NULL)
		entry->in_use = 0;
	routes_under_way = 0;
}

static void
register_live_xact_callback(void)
{
	static bool registered = false;

	if (!registered)
	{
		RegisterXactCallback(live_xact_callback, NULL);
		registered = true;
	}
}

static TupleDesc
projection_desc(Relation rel, int ncols, AttrNumber *cols)
{
	TupleDesc	desc = CreateTemplateTupleDesc(ncols);

	for (int i = 0; i < ncols; i++)
	{
		Form_pg_attribute att = TupleDescAttr(RelationGetDescr(rel), cols[i] - 1);

		TupleDescInitEntry(desc, i + 1, NameStr(att->attname), att->atttypid, att->atttypmod, 0);
		TupleDescInitEntryCollation(desc, i + 1, att->attcollation);
	}
	return BlessTupleDesc(desc);
}

/* the object is gone (a valid OID only) */
static bool
object_gone(const ObjectAddress *object)
{
	int			cache;

	if (!OidIsValid(object->objectId))
		return false;
	switch (object->classId)
	{
		case TypeRelationId:
			cache = TYPEOID;
			break;
		case CollationRelationId:
			cache = COLLOID;
			break;
		case OperatorRelationId:
			cache = OPEROID;
			break;
		default:
			cache = PROCOID;
			break;
	}
	return !SearchSysCacheExists1(cache, ObjectIdGetDatum(object->objectId));
}

/*
 * Whether the expression names a column not as it was then, or a type,
 * collation, operator or function gone since (the type of a column
 * dropped with it, say): evaluated, it would fail the writer.
 */
static bool
stale_var_walker(Node *node, void *context)
{
	TupleDesc	desc = (TupleDesc) context;
	ObjectAddress objects[LIVE_WHERE_MAX_OBJECTS];
	int			n;

	if (node == NULL)
		return false;
	if (IsA(node, Var))
	{
		Var		   *var = (Var *) node;
		Form_pg_attribute att;

		if (var->varattno <= 0 || var->varattno > desc->natts)
			return true;
		att = TupleDescAttr(desc, var->varattno - 1);
		return att->attisdropped || att->atttypid != var->vartype ||
			att->atttypmod != var->vartypmod || att->attcollation != var->varcollid;
	}
	n = live_where_node_objects(node, objects);
	for (int i = 0; i < n; i++)
		if (object_gone(&objects[i]))
			return true;
	return expression_tree_walker(node, stale_var_walker, context);
}

static bool
qual_fits_table(Node *qual, TupleDesc desc)
{
	return !stale_var_walker(qual, desc);
}

/*
 * Whether values of the type print in JSON at about their stored size: the
 * scalar built-in types but numeric (1e131071 at full scale: 10 bytes
 * stored, 147 kB printed), and kalamdb's keys.  Not: numeric, jsonb (its
 * numbers are numeric), arrays and composites (which may hold those, and
 * whose fields stay compressed), other types (whose cast to json, which
 * row_to_json uses, may do anything).
 */
static bool
prints_near_stored_size(Oid type, Oid kalamdb)
{
	switch (type)
	{
		case BOOLOID:
		case INT2OID:
		case INT4OID:
		case INT8OID:
		case OIDOID:
		case FLOAT4OID:
		case FLOAT8OID:
		case TEXTOID:
		case VARCHAROID:
		case BPCHAROID:
		case NAMEOID:
		case BYTEAOID:
		case JSONOID:
		case UUIDOID:
		case DATEOID:
		case TIMEOID:
		case TIMETZOID:
		case TIMESTAMPOID:
		case TIMESTAMPTZOID:
		case INTERVALOID:
		case INETOID:
		case CIDROID:
		case MACADDROID:
			return true;
		default:
			return getExtensionOfObject(TypeRelationId, type) == kalamdb;
	}
}

/*
 * The subscriptions routed to (relation, owner), from system.live_queries
 * through kalam._live_subscriptions(), called as the extension owner (the
 * writer need not see other users' subscriptions) in a restricted
 * security context, under a fresh snapshot (the route's version may be
 * newer than the statement's snapshot).
 */
static List *
load_subscriptions(Relation rel, const char *owner, int owner_len, MemoryContext cxt)
{
	Oid			save_user;
	int			save_sec;
	List	   *subs = NIL;
	Datum		args[2];
	Oid			types[2] = {OIDOID, TEXTOID};
	Oid			kalamdb = get_extension_oid("kalamdb", false);

	live_act_as_catalog_owner(&save_user, &save_sec);
	PushActiveSnapshot(GetLatestSnapshot());
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	args[0] = ObjectIdGetDatum(RelationGetRelid(rel));
	args[1] = PointerGetDatum(cstring_to_text_with_len(owner, owner_len));
	/* no type or operator names here: nothing for the writer's search_path */
	if (SPI_execute_with_args("SELECT * FROM kalam._live_subscriptions($1, $2)",
							  2, types, args, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the live queries");

	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	spidesc = SPI_tuptable->tupdesc;
		char	   *where = SPI_getvalue(tup, spidesc, 4);
		char	   *columns = SPI_getvalue(tup, spidesc, 5);
		MemoryContext old = MemoryContextSwitchTo(cxt);
		Node	   *qual = where ? stringToNode(where) : NULL;
		LiveSub    *sub;
		List	   *names = NIL;
		ListCell   *lc;
		int			n = 0;

		/*
		 * A WHERE the table's columns no longer fit (ALTER TABLE since the
		 * subscription) is not evaluated: the subscription gets nothing
		 */
		if (qual != NULL && !qual_fits_table(qual, RelationGetDescr(rel)))
		{
			MemoryContextSwitchTo(old);
			continue;
		}
		sub = palloc0(sizeof(LiveSub));
		sub->live_id = pstrdup(SPI_getvalue(tup, spidesc, 1));
		sub->channel = pstrdup(SPI_getvalue(tup, spidesc, 2));
		sub->table_id = pstrdup(SPI_getvalue(tup, spidesc, 3));
		if (qual != NULL)
			sub->qual = ExecInitQual(list_make1(qual), NULL);
		if (columns)
		{
			char	   *rest = pstrdup(columns);
			char	   *tok;

			while ((tok = strsep(&rest, "\x1f")) != NULL)
				names = lappend(names, tok);
		}
		sub->cols = palloc(sizeof(AttrNumber) * Max(list_length(names), 1));
		foreach(lc, names)
		{
			AttrNumber	attno = get_attnum(RelationGetRelid(rel), (char *) lfirst(lc));

			/* user columns only (subscribe refuses system columns) */
			if (attno > 0)
				sub->cols[n++] = attno;
		}
		sub->ncols = n;
		sub->desc = projection_desc(rel, n, sub->cols);
		sub->guarded = false;
		sub->needed = NULL;
		for (int i = 0; i < n; i++)
		{
			sub->guarded |= !prints_near_stored_size(TupleDescAttr(RelationGetDescr(rel),
																  sub->cols[i] - 1)->atttypid,
													 kalamdb);
			sub->needed = bms_add_member(sub->needed, sub->cols[i]);
		}
		if (qual != NULL)
		{
			Bitmapset  *vars = NULL;
			int			x = -1;

			pull_varattnos(qual, 1, &vars);
			while ((x = bms_next_member(vars, x)) >= 0)
				sub->needed = bms_add_member(sub->needed, x + FirstLowInvalidHeapAttributeNumber);
		}
		subs = lappend(subs, sub);
		MemoryContextSwitchTo(old);
	}
	SPI_finish();
	PopActiveSnapshot();
	SetUserIdAndSecContext(save_user, save_sec);
	return subs;
}

/*
 * The cache is keyed by route version; ALTER TABLE and the like make it
 * stale too (column types, the WHERE's validity): a relcache invalidation
 * marks the relation's entries for reloading.  Nothing is freed here, as
 * an invalidation may arrive while an entry is in use.
 */
static void
invalidate_subscriptions(Datum arg, Oid relid)
{
	HASH_SEQ_STATUS status;
	SubCacheEntry *entry;

	if (sub_cache == NULL)
		return;
	hash_seq_init(&status, sub_cache);
	while ((entry = hash_seq_search(&status)) != NULL)
	{
		if (!OidIsValid(relid) || entry->key.relid == relid)
			entry->version = 0;
	}
}

/*
 * A role's membership or attributes changed, or a schema's privileges: the
 * privilege checks of every cached subscription list may say otherwise now
 */
static void
invalidate_subscriptions_on_roles(Datum arg, int cacheid, uint32 hashvalue)
{
	invalidate_subscriptions(arg, InvalidOid);
}

/*
 * kalam._live_table_renamed(regclass): a registered table's table_id
 * changed without a relcache invalidation of its own (its schema renamed):
 * writers load its subscriptions again, with the new id for their
 * payloads, once the change commits.
 */
PG_FUNCTION_INFO_V1(kalam_live_table_renamed);
Datum
kalam_live_table_renamed(PG_FUNCTION_ARGS)
{
	CacheInvalidateRelcacheByRelid(PG_GETARG_OID(0));
	PG_RETURN_VOID();
}

static SubCacheEntry *
subscriptions(Relation rel, const char *owner, int owner_len, uint64 version)
{
	SubCacheKey key;
	SubCacheEntry *entry;
	bool		found;
	MemoryContext cxt;
	List	   *subs;

	if (sub_cache == NULL)
	{
		HASHCTL		info;

		memset(&info, 0, sizeof(info));
		info.keysize = sizeof(SubCacheKey);
		info.entrysize = sizeof(SubCacheEntry);
		info.hcxt = CacheMemoryContext;
		sub_cache = hash_create("kalamdb live query subscriptions", 64, &info,
								HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
		CacheRegisterRelcacheCallback(invalidate_subscriptions, (Datum) 0);
		/* a subscriber's rights may come from a role it is granted, or from the schema */
		CacheRegisterSyscacheCallback(AUTHMEMMEMROLE, invalidate_subscriptions_on_roles, (Datum) 0);
		CacheRegisterSyscacheCallback(AUTHOID, invalidate_subscriptions_on_roles, (Datum) 0);
		CacheRegisterSyscacheCallback(NAMESPACEOID, invalidate_subscriptions_on_roles, (Datum) 0);
	}
	memset(&key, 0, sizeof(key));
	key.relid = RelationGetRelid(rel);
	key.owner_len = (uint8) owner_len;
	memcpy(key.owner, owner, owner_len);
	entry = hash_search(sub_cache, &key, HASH_FIND, NULL);
	if (entry && entry->version == version)
		return entry;

	/* build the new list first: loading may process invalidations */
	cxt = AllocSetContextCreate(CacheMemoryContext, "kalamdb live query", ALLOCSET_SMALL_SIZES);
	PG_TRY();
	{
		subs = load_subscriptions(rel, owner, owner_len, cxt);
	}
	PG_CATCH();
	{
		MemoryContextDelete(cxt);
		PG_RE_THROW();
	}
	PG_END_TRY();

	entry = hash_search(sub_cache, &key, HASH_ENTER, &found);
	if (!found)
		entry->in_use = 0;
	else if (entry->cxt && entry->in_use > 0)
	{
		MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);

		retired_lists = lappend(retired_lists, entry->cxt);
		MemoryContextSwitchTo(old);
	}
	else if (entry->cxt)
		MemoryContextDelete(entry->cxt);
	entry->cxt = cxt;
	entry->subs = subs;
	entry->version = version;
	return entry;
}

/* The owner of a row, or "" when the trigger serves a shared table. */
static void
row_owner(Relation rel, AttrNumber attno, HeapTuple tuple, char *owner, int *owner_len)
{
	bool		isnull;
	Datum		value;
	struct varlena *v;

	*owner_len = 0;
	if (attno == InvalidAttrNumber || tuple == NULL)
		return;
	value = heap_getattr(tuple, attno, RelationGetDescr(rel), &isnull);
	if (isnull)
		return;
	v = PG_DETOAST_DATUM_PACKED(value);
	if (VARSIZE_ANY_EXHDR(v) > USER_ID_MAX_LEN)
		return;
	*owner_len = VARSIZE_ANY_EXHDR(v);
	memcpy(owner, VARDATA_ANY(v), *owner_len);
}

static bool
matches(LiveSub *sub, TupleTableSlot *slot, ExprContext *econtext)
{
	if (slot == NULL)
		return false;
	if (sub->qual == NULL)
		return true;
	econtext->ecxt_scantuple = slot;
	ResetExprContext(econtext);
	return ExecQual(sub->qual, econtext);
}

static void
append_row_json(StringInfo buf, TupleTableSlot *slot, int ncols, AttrNumber *cols, TupleDesc desc)
{
	Datum	   *values = palloc(sizeof(Datum) * Max(ncols, 1));
	bool	   *nulls = palloc(sizeof(bool) * Max(ncols, 1));
	HeapTuple	projected;

	slot_getallattrs(slot);
	for (int i = 0; i < ncols; i++)
	{
		values[i] = slot->tts_values[cols[i] - 1];
		nulls[i] = slot->tts_isnull[cols[i] - 1];
	}
	projected = heap_form_tuple(desc, values, nulls);
	appendStringInfoString(buf, text_to_cstring(DatumGetTextPP(
		DirectFunctionCall1(row_to_json, HeapTupleGetDatum(projected)))));
}

/* The key-only stand-in for a payload NOTIFY cannot carry */
static void
append_key_json(StringInfo buf, Relation rel, TupleTableSlot *slot)
{
	Oid			pk = RelationGetPrimaryKeyIndex(rel);

	if (OidIsValid(pk))
	{
		Relation	index = index_open(pk, AccessShareLock);
		int			n = index->rd_index->indnkeyatts;
		AttrNumber *cols = palloc(sizeof(AttrNumber) * n);

		for (int i = 0; i < n; i++)
			cols[i] = index->rd_index->indkey.values[i];
		index_close(index, AccessShareLock);
		append_row_json(buf, slot, n, cols, projection_desc(rel, n, cols));
	}
	else
	{
		char	   *ctid = DatumGetCString(DirectFunctionCall1(tidout, PointerGetDatum(&slot->tts_tid)));

		appendStringInfoString(buf, "{\"ctid\": ");
		escape_json(buf, ctid);
		appendStringInfoChar(buf, '}');
	}
}

/*
 * The start of every message: the subscription, the message's number in
 * its transaction, the table, the operation
 */
static void
append_header(StringInfo buf, LiveSub *sub, uint64 seq, const char *op)
{
	appendStringInfoString(buf, "{\"live_id\": ");
	escape_json(buf, sub->live_id);
	appendStringInfo(buf, ", \"seq\": " UINT64_FORMAT, seq);
	appendStringInfoString(buf, ", \"table\": ");
	escape_json(buf, sub->table_id);
	appendStringInfo(buf, ", \"op\": \"%s\"", op);
}

/* The row and old row as JSON into buf */
static void
append_rows(StringInfo buf, LiveSub *sub, TupleTableSlot *row, TupleTableSlot *old)
{
	if (row)
	{
		appendStringInfoString(buf, ", \"row\": ");
		append_row_json(buf, row, sub->ncols, sub->cols, sub->desc);
	}
	if (old)
	{
		appendStringInfoString(buf, ", \"old\": ");
		append_row_json(buf, old, sub->ncols, sub->cols, sub->desc);
	}
}

/*
 * The row and old row as JSON into buf; false if that failed (out of
 * memory past 1 GB, say, or a type's cast to json raising an error), in a
 * subtransaction, so that the write goes on with a key-only message.  A
 * cancel is not caught.
 */
static bool
append_rows_guarded(StringInfo buf, LiveSub *sub, TupleTableSlot *row, TupleTableSlot *old)
{
	MemoryContext cxt = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;
	volatile bool ok = true;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(cxt);
	PG_TRY();
	{
		append_rows(buf, sub, row, old);
		ReleaseCurrentSubTransaction();
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		if (edata->sqlerrcode == ERRCODE_QUERY_CANCELED)
		{
			RollbackAndReleaseCurrentSubTransaction();
			MemoryContextSwitchTo(cxt);
			CurrentResourceOwner = owner;
			ReThrowError(edata);
		}
		FlushErrorState();
		FreeErrorData(edata);
		RollbackAndReleaseCurrentSubTransaction();
		ok = false;
	}
	PG_END_TRY();
	MemoryContextSwitchTo(cxt);
	CurrentResourceOwner = owner;
	return ok;
}

/*
 * Whether the projected columns of the row take so many bytes that their
 * JSON cannot fit a notification: it is not built then (a row of 1 MB,
 * for each subscription), the key is sent at once.  Four times the limit:
 * no type's JSON is that much smaller than its value.
 */
static bool
surely_too_large(const LiveSub *sub, TupleTableSlot *slot)
{
	Size		bytes = 0;

	if (slot == NULL)
		return false;
	slot_getallattrs(slot);
	for (int i = 0; i < sub->ncols; i++)
	{
		int			col = sub->cols[i] - 1;

		if (!slot->tts_isnull[col] && TupleDescAttr(slot->tts_tupleDescriptor, col)->attlen == -1)
			bytes += VARSIZE_ANY(DatumGetPointer(slot->tts_values[col]));
	}
	return bytes > 4 * NOTIFY_PAYLOAD_LIMIT;
}

/*
 * NOTIFY on a subscription's channel.  The channel is the subscriber's
 * secret (whoever knows it may LISTEN, or send it messages): trace_notify,
 * which any role may turn on, would print it to the writer.
 */
static void
notify_subscriber(const char *channel, const char *payload)
{
	bool		trace = Trace_notify;

	Trace_notify = false;
	PG_TRY();
	{
		Async_Notify(channel, payload);
	}
	PG_FINALLY();
	{
		Trace_notify = trace;
	}
	PG_END_TRY();
}

static void
deliver(Relation rel, LiveSub *sub, const char *op, TupleTableSlot *row, TupleTableSlot *old)
{
	StringInfoData buf;
	uint64		seq = ++notifications_sent;
	bool		too_large = surely_too_large(sub, row) || surely_too_large(sub, old);

	initStringInfo(&buf);
	append_header(&buf, sub, seq, op);
	if (!too_large)
	{
		if (sub->guarded)
			too_large = !append_rows_guarded(&buf, sub, row, old);
		else
			append_rows(&buf, sub, row, old);
	}
	appendStringInfoChar(&buf, '}');

	if (too_large || strlen(sub->channel) + buf.len >= NOTIFY_PAYLOAD_LIMIT)
	{
		resetStringInfo(&buf);
		append_header(&buf, sub, seq, op);
		appendStringInfoString(&buf, ", \"truncated\": true, \"key\": ");
		append_key_json(&buf, rel, row ? row : old);
		appendStringInfoChar(&buf, '}');
	}
	/*
	 * A key too long for NOTIFY as well (a wide primary key, which the
	 * table's users choose): the row's place only, for the client to read
	 * the table again.  Were NOTIFY to fail, so would the write.
	 */
	if (strlen(sub->channel) + buf.len >= NOTIFY_PAYLOAD_LIMIT)
	{
		TupleTableSlot *changed = row ? row : old;

		resetStringInfo(&buf);
		append_header(&buf, sub, seq, op);
		appendStringInfoString(&buf, ", \"truncated\": true, \"key\": null, \"ctid\": ");
		escape_json(&buf, DatumGetCString(DirectFunctionCall1(tidout,
															  PointerGetDatum(&changed->tts_tid))));
		appendStringInfoChar(&buf, '}');
	}
	notify_subscriber(sub->channel, buf.data);
	live_count_delivery_at_commit(sub->live_id);
}

/*
 * TRUNCATE: one message to every subscription of the table, whoever's rows
 * it watches, as there are no rows to route by.  Rare enough to read the
 * subscriptions afresh.
 */
static void
deliver_truncate(Relation rel)
{
	MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext, "kalamdb live truncate",
											  ALLOCSET_SMALL_SIZES);
	List	   *subs;
	ListCell   *lc;

	register_live_xact_callback();
	subs = load_subscriptions(rel, "", 0, cxt);

	foreach(lc, subs)
	{
		LiveSub    *sub = (LiveSub *) lfirst(lc);
		StringInfoData buf;

		initStringInfo(&buf);
		append_header(&buf, sub, ++notifications_sent, "truncate");
		appendStringInfoChar(&buf, '}');
		notify_subscriber(sub->channel, buf.data);
		live_count_delivery_at_commit(sub->live_id);
	}
	MemoryContextDelete(cxt);
}

static TupleTableSlot *
slot_of(Relation rel, HeapTuple tuple)
{
	TupleDesc	desc = RelationGetDescr(rel);
	TupleTableSlot *slot;

	if (tuple == NULL)
		return NULL;
	slot = MakeSingleTupleTableSlot(desc, &TTSOpsVirtual);
	heap_deform_tuple(tuple, desc, slot->tts_values, slot->tts_isnull);
	ExecStoreVirtualTuple(slot);
	slot->tts_tid = tuple->t_self;
	return slot;
}

/*
 * The row's compressed or out-of-line values of the columns a subscription
 * reads, expanded in place, once for all subscriptions: each comparison
 * with them would expand them again (a 3 kB text compared with a list of
 * a thousand was decompressed a thousand times, for each subscription).
 * Columns no subscription reads are left as they are.
 */
static void
expand_columns(TupleTableSlot *slot, const Bitmapset *columns)
{
	int			attno = -1;

	if (slot == NULL)
		return;
	while ((attno = bms_next_member(columns, attno)) >= 0)
	{
		struct varlena *value;

		if (slot->tts_isnull[attno - 1] ||
			TupleDescAttr(slot->tts_tupleDescriptor, attno - 1)->attlen != -1)
			continue;
		value = (struct varlena *) DatumGetPointer(slot->tts_values[attno - 1]);
		if (VARATT_IS_EXTERNAL(value) || VARATT_IS_COMPRESSED(value))
			slot->tts_values[attno - 1] = PointerGetDatum(detoast_attr(value));
	}
}

/* Every subscription routed to one owner key: evaluate and deliver. */
static void
route(Relation rel, const char *owner, int owner_len,
	  TupleTableSlot *newslot, TupleTableSlot *oldslot)
{
	uint64		version = live_route_version(RelationGetRelid(rel), owner, owner_len);
	SubCacheEntry *entry;
	List	   *subs;
	ListCell   *lc;
	ExprContext *econtext;

	if (version == 0)
		return;					/* nobody watches: the common case */
	register_live_xact_callback();
	entry = subscriptions(rel, owner, owner_len, version);
	subs = entry->subs;
	if (subs == NIL)
		return;
	/* kept while in use here, should a delivery reload the entry (above) */
	entry->in_use++;
	routes_under_way++;
	econtext = CreateStandaloneExprContext();
	foreach(lc, subs)
	{
		LiveSub    *sub = (LiveSub *) lfirst(lc);
		bool		new_in;
		bool		old_in;

		expand_columns(newslot, sub->needed);
		expand_columns(oldslot, sub->needed);
		new_in = matches(sub, newslot, econtext);
		old_in = matches(sub, oldslot, econtext);

		if (new_in && old_in)
			deliver(rel, sub, "update", newslot, oldslot);
		else if (new_in)
			deliver(rel, sub, "insert", newslot, NULL);
		else if (old_in)
			deliver(rel, sub, "delete", NULL, oldslot);
	}
	FreeExprContext(econtext, true);
	entry->in_use--;
	routes_under_way--;
}

/*
 * A USER or STREAM table's owner column, looked up once per statement (in
 * the trigger's fn_extra): the first kalam.user_id column, as registering
 * chose it, found as it is now (it may have been renamed since)
 */
static AttrNumber
owner_column(FunctionCallInfo fcinfo, Relation rel)
{
	AttrNumber *attno = (AttrNumber *) fcinfo->flinfo->fn_extra;

	if (attno == NULL)
	{
		attno = MemoryContextAlloc(fcinfo->flinfo->fn_mcxt, sizeof(AttrNumber));
		*attno = kalam_first_column_of_type(RelationGetDescr(rel), kalam_user_id_type());
		fcinfo->flinfo->fn_extra = attno;
	}
	return *attno;
}

/*
 * A payload reads the same whoever writes: the writer's output settings
 * (a float's digits, a bytea's, an interval's or a range's format, a
 * timestamptz's offset) give way to these while rows are routed.  (Not
 * lc_monetary, which money's output goes by: setting a locale for each
 * row is costly, and money is rare.)
 */
static const struct
{
	const char *name;
	const char *value;
}			payload_settings[] =
{
	{"extra_float_digits", "1"},
	{"bytea_output", "hex"},
	{"IntervalStyle", "postgres"},
	{"DateStyle", "ISO, MDY"},
	{"TimeZone", "UTC"},
};

/*
 * Apply payload_settings where the session's differ; returns the GUC nest
 * level for AtEOXact_GUC() to undo them at, or -1 if none was changed
 */
static int
use_payload_settings(void)
{
	int			nest_level = -1;

	for (int i = 0; i < lengthof(payload_settings); i++)
	{
		const char *now = GetConfigOption(payload_settings[i].name, false, false);
		long		offset;

		if (now != NULL && strcmp(now, payload_settings[i].value) == 0)
			continue;
		/* a zone always at +00:00 (Etc/UTC, GMT) formats as UTC does */
		if (strcmp(payload_settings[i].name, "TimeZone") == 0 &&
			pg_get_timezone_offset(session_timezone, &offset) && offset == 0)
			continue;
		if (nest_level < 0)
			nest_level = NewGUCNestLevel();
		(void) set_config_option(payload_settings[i].name, payload_settings[i].value,
								 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
	}
	return nest_level;
}

PG_FUNCTION_INFO_V1(kalam_live_query_trigger);
Datum
kalam_live_query_trigger(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	Relation	rel;
	AttrNumber	owner_attno = InvalidAttrNumber;
	HeapTuple	newtuple = NULL;
	HeapTuple	oldtuple = NULL;
	char		new_owner[USER_ID_MAX_LEN];
	char		old_owner[USER_ID_MAX_LEN];
	int			new_len;
	int			old_len;
	TupleTableSlot *newslot;
	TupleTableSlot *oldslot;
	int			settings_level;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_AFTER(td->tg_event) ||
		(!TRIGGER_FIRED_FOR_ROW(td->tg_event) && !TRIGGER_FIRED_BY_TRUNCATE(td->tg_event)))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("kalam._live_query_trigger() must run AFTER each row, or AFTER TRUNCATE")));
	rel = td->tg_relation;
	if (TRIGGER_FIRED_BY_TRUNCATE(td->tg_event))
	{
		deliver_truncate(rel);
		return PointerGetDatum(NULL);
	}
	/* a USER or STREAM table (the trigger names an owner column) is routed by owner */
	if (td->tg_trigger->tgnargs > 0 && td->tg_trigger->tgargs[0][0] != '\0')
		owner_attno = owner_column(fcinfo, rel);

	if (TRIGGER_FIRED_BY_INSERT(td->tg_event))
		newtuple = td->tg_trigtuple;
	else if (TRIGGER_FIRED_BY_UPDATE(td->tg_event))
	{
		oldtuple = td->tg_trigtuple;
		newtuple = td->tg_newtuple;
	}
	else if (TRIGGER_FIRED_BY_DELETE(td->tg_event))
		oldtuple = td->tg_trigtuple;
	else
		return PointerGetDatum(NULL);

	row_owner(rel, owner_attno, newtuple, new_owner, &new_len);
	row_owner(rel, owner_attno, oldtuple, old_owner, &old_len);
	/* a quick look at the routes before anything else */
	if ((newtuple == NULL || live_route_version(RelationGetRelid(rel), new_owner, new_len) == 0) &&
		(oldtuple == NULL || live_route_version(RelationGetRelid(rel), old_owner, old_len) == 0))
		return PointerGetDatum(NULL);

	/* a policy of the table's own added since: kalamdb's rules no longer say it all */
	if (live_foreign_read_policy(rel) != NULL)
		return PointerGetDatum(NULL);

	/* (undone by the transaction's abort, should routing fail) */
	settings_level = use_payload_settings();
	newslot = slot_of(rel, newtuple);
	oldslot = slot_of(rel, oldtuple);
	if (newtuple && oldtuple &&
		(new_len != old_len || memcmp(new_owner, old_owner, new_len) != 0))
	{
		/* the row changed hands: it leaves one owner's view, enters the other's */
		route(rel, old_owner, old_len, NULL, oldslot);
		route(rel, new_owner, new_len, newslot, NULL);
	}
	else if (newtuple)
		route(rel, new_owner, new_len, newslot, oldslot);
	else
		route(rel, old_owner, old_len, NULL, oldslot);

	if (newslot)
		ExecDropSingleTupleTableSlot(newslot);
	if (oldslot)
		ExecDropSingleTupleTableSlot(oldslot);
	if (settings_level >= 0)
		AtEOXact_GUC(true, settings_level);
	return PointerGetDatum(NULL);
}
