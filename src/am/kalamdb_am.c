/*-------------------------------------------------------------------------
 *
 * kalamdb_am.c
 *	  The kalamdb table access method: heap, with every row placed on a
 *	  page of its owner.
 *
 * The routine is heap's (GetHeapamTableAmRoutine()), so MVCC, WAL, VACUUM,
 * TOAST, scans and ANALYZE are heap's own.  We take over the insert paths
 * (single, multi for COPY and INSERT ... SELECT, speculative for ON
 * CONFLICT) and updates, which choose the target page (placement.c) before
 * handing the row to heap (an update that changes the row's owner becomes
 * heap's delete and insert, as a cross-partition UPDATE does), and a few
 * DDL callbacks:
 *
 *  - index builds and CREATE INDEX CONCURRENTLY validation run heap's code
 *    with the relation presenting heap's routine, since heap_getnext()
 *    refuses any other;
 *  - TOAST tables stay plain heap;
 *  - new storage (CREATE, TRUNCATE, VACUUM FULL, CLUSTER, SET TABLESPACE)
 *    and shrinking VACUUMs forget the relation's hints; every VACUUM lets
 *    owners look for room it freed on their pages;
 *  - VACUUM FULL rewrites in owner order when there is an owner index, so
 *    owners stay together.
 *
 * The owner is the table's first column of type kalam.user_id; rows whose
 * owner is NULL are placed as if they had an owner of their own.  A table
 * without such a column, and temporary tables, are placed exactly as heap
 * would.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/hio.h"
#include "access/tableam.h"
#include "access/detoast.h"
#include "access/toast_internals.h"
#include "catalog/index.h"
#include "catalog/pg_am_d.h"
#include "catalog/pg_publication.h"
#include "executor/tuptable.h"
#include "fmgr.h"
#include "storage/buf_internals.h"
#include "storage/bufmgr.h"
#include "storage/lmgr.h"
#include "utils/inval.h"
#include "utils/rel.h"
#include "utils/relcache.h"

#include "am/am_compat.h"
#include "am/kalamdb_am.h"
#include "am/owner_map.h"
#include "am/owner_page_cache.h"
#include "am/placement.h"
#include "am/rel_cache.h"
#include "am/row_length.h"
#include "kalamdb.h"
#include "keys/key_kind.h"

static TableAmRoutine kalamdb_methods;
static const TableAmRoutine *heap_methods = NULL;

#ifdef __GNUC__
#define prefetch_for_write(addr) __builtin_prefetch((addr), 1)
#else
#define prefetch_for_write(addr) ((void) 0)
#endif

/* the CPU's cache line: PG_CACHE_LINE_SIZE is a cautious 128 */
#define CPU_CACHE_LINE		64

/*
 * Prefetch where a row of len bytes will go on a page read without its
 * content lock (pd_lower and pd_upper are only a hint, checked for sense):
 * the new line pointer at pd_lower, the row just below pd_upper.
 */
static inline void
prefetch_insertion_point(char *page, LocationIndex lower, LocationIndex upper, Size len)
{
	if (lower < upper && upper <= BLCKSZ && upper > len)
	{
		prefetch_for_write(page + lower);
		for (Size off = upper - len; off < upper; off += CPU_CACHE_LINE)
			prefetch_for_write(page + off);
		prefetch_for_write(page + upper - 1);
	}
}

/*
 * Rows of interleaved owners go each to another page, none of them in the
 * CPU cache by the time the owner's next row comes.  For a bulk insert,
 * this backend's owner page cache knows the buffer that held the owner's
 * page and where on it the owner's last row went: fetch the buffer's
 * header, the page's header and the lines just below that last row (a row
 * of average size) while the row is formed and placed, all at once, where
 * each would otherwise wait for the one before.  The buffer is not pinned:
 * only addresses to prefetch come of what the cache says.
 */
#define PREFETCH_ROW_BYTES	(6 * CPU_CACHE_LINE)

static void
prefetch_owner_page(Relation rel, const char *owner, int owner_len)
{
	KalamRelStorage storage = KalamRelStorageOf(rel);
	const CachedOwnerPage *cached = owner_page_cache_peek(&storage, owner, owner_len);
	char	   *page;

	if (cached == NULL || !BufferIsValid(cached->buffer) || BufferIsLocal(cached->buffer) ||
		cached->buffer > NBuffers)
		return;
	page = BufferGetBlock(cached->buffer);
	prefetch_for_write(GetBufferDescriptor(cached->buffer - 1));
	prefetch_for_write(page);
	if (cached->upper > PREFETCH_ROW_BYTES && cached->upper <= BLCKSZ)
		for (Size off = cached->upper - PREFETCH_ROW_BYTES; off < cached->upper; off += CPU_CACHE_LINE)
			prefetch_for_write(page + off);
}

/*
 * Before heap inserts len bytes on the target page: pin it in pins, where
 * heap takes its target from (hio.c) before the relation's target block.
 * That one lives in the relation's smgr entry, which a signal handled at
 * any CHECK_FOR_INTERRUPTS() in heap (DROP DATABASE elsewhere, say) can
 * reset: heap would then try the relation's last page, another owner's.
 * Where the owner map knows the buffer that holds the target page, the
 * pin saves the buffer table lookup.  Prefetch the page's insertion point:
 * rows of interleaved owners go to as many pages, none of them in the CPU
 * cache by the time the owner's next row comes.  False if the target came
 * from a bulk insert's lease (placement.h) and visibly has no room left.
 */
static bool
prepare_target(Relation rel, BulkInsertState pins, const Placement *p, Size len)
{
	Buffer		buffer;
	Page		page;
	PageHeader	header;
	LocationIndex lower;
	LocationIndex upper;

	if (BufferIsValid(pins->current_buf))
	{
		if (BufferGetBlockNumber(pins->current_buf) == p->block)
			return true;
		ReleaseBulkInsertStatePin(pins);
	}
	if (!BlockNumberIsValid(p->block))
		return true;
	if (BufferIsValid(p->recent_buffer) &&
		ReadRecentBuffer(KalamRelStorageOf(rel), MAIN_FORKNUM, p->block, p->recent_buffer))
		buffer = p->recent_buffer;
	else
		buffer = ReadBufferExtended(rel, MAIN_FORKNUM, p->block, RBM_NORMAL, pins->strategy);
	pins->current_buf = buffer;

	page = BufferGetPage(buffer);
	header = (PageHeader) page;
	lower = header->pd_lower;
	upper = header->pd_upper;
	prefetch_insertion_point(page, lower, upper, len);

	/*
	 * A lease whose room another session used: heap would give the row a
	 * page of this session's own, where the other session has gone on to
	 * one of its own (a fresh page is initialized on first use: pd_upper 0).
	 */
	return p->free_estimate < 0 || upper == 0 || lower > upper ||
		upper - lower >= p->need + sizeof(ItemIdData);
}

/*
 * The BulkInsertState heap gets: the caller's, or, for an insert that has
 * none, own_pins, which only holds the target's pin (no ring); released by
 * release_pins()
 */
static inline BulkInsertState
pins_for(BulkInsertState bistate, BulkInsertStateData *own_pins)
{
	if (bistate != NULL)
		return bistate;
	KalamInitBulkInsertPins(own_pins);
	return own_pins;
}

static inline void
release_pins(BulkInsertState pins, BulkInsertState bistate)
{
	if (pins != bistate)
		ReleaseBulkInsertStatePin(pins);
}

/*
 * The target turned out to lack the room the row needs, or to be no longer
 * the owner's: release it, and make the owner map look at the page next
 * time.
 */
static void
forget_target(Relation rel, const char *owner, int owner_len, Placement *p)
{
	placement_finish(rel, owner, owner_len, p, 1, InvalidBlockNumber);
	placement_drop_lease(rel, owner, owner_len, p);
}

/*
 * Make p's target heap's, pinned in pins; bulk: a bulk insert's (see
 * placement_begin()).  Choose again if a lease turned out stale, or if a
 * VACUUM emptied the target and another owner took it before the pin
 * (placement_recheck()); should that happen twice, an empty page.
 */
static void
begin_target(Relation rel, BulkInsertState pins, bool bulk, const char *owner, int owner_len,
			 Size len, Size max_len, int nrows, Placement *p)
{
	for (int attempt = 0; attempt < 2; attempt++)
	{
		placement_begin(rel, owner, owner_len, len, max_len, nrows, bulk, p);
		if (prepare_target(rel, pins, p, len) &&
			placement_recheck(rel, owner, owner_len, p, pins->current_buf))
			return;
		forget_target(rel, owner, owner_len, p);
		/* (this backend's own pin would keep it from taking the page as empty) */
		ReleaseBulkInsertStatePin(pins);
	}
	placement_take_empty_page(rel, owner, owner_len, p);
	prepare_target(rel, pins, p, len);
}

/* The owner map's entry of the owner, wanted soon: see owner_map_prefetch() */
static inline void
prefetch_owner(Relation rel, const char *owner, int owner_len)
{
	KalamRelStorage storage = KalamRelStorageOf(rel);

	owner_map_prefetch(&storage, owner, owner_len);
}

/* One row on its way to its owner's page */
typedef struct RowPlacement
{
	char		owner[USER_ID_MAX_LEN];
	int			owner_len;
	bool		bulk;			/* part of a bulk insert (a BulkInsertState) */
	RowLength	length;
	Placement	p;
} RowPlacement;

/*
 * Lock a TOAST table and its indexes in AccessShareLock, and also in
 * RowExclusiveLock if values are to be stored there; keep the locks
 */
static void
lock_toast_table(Oid toastrelid, bool to_store)
{
	LOCKMODE	mode = to_store ? RowExclusiveLock : AccessShareLock;
	Relation	toast = table_open(toastrelid, mode);
	Relation   *indexes;
	int			nindexes;

	(void) toast_open_indexes(toast, mode, &indexes, &nindexes);
	if (to_store)
	{
		LockRelationOid(toastrelid, AccessShareLock);
		for (int i = 0; i < nindexes; i++)
			LockRelationOid(RelationGetRelid(indexes[i]), AccessShareLock);
	}
	toast_close_indexes(indexes, nindexes, NoLock);
	table_close(toast, NoLock);
}

/*
 * heap TOASTs a row before it asks for its page: it opens the TOAST table
 * and its indexes to store values (RowExclusiveLock, and AccessShareLock
 * to choose each value's OID), and the TOAST tables of values out of line
 * elsewhere to bring them back (AccessShareLock).  The first lock of a
 * mode taken on each in the transaction lets invalidations in, and one of
 * the relation's own (statistics an ANALYZE or VACUUM updated) closes its
 * storage, which forgets the target page: heap would then take the last
 * page, or one from the free space map.  So those locks are taken before
 * the row is placed (slot: the row, if its values may come from
 * elsewhere).
 */
void
kalam_lock_toast_relation(Relation rel, TupleTableSlot *slot)
{
	if (OidIsValid(rel->rd_rel->reltoastrelid))
		lock_toast_table(rel->rd_rel->reltoastrelid, true);
	if (slot == NULL)
		return;
	slot_getallattrs(slot);
	for (int i = 0; i < slot->tts_tupleDescriptor->natts; i++)
	{
		struct varlena *value;
		struct varatt_external pointer;

		if (slot->tts_isnull[i] || TupleDescAttr(slot->tts_tupleDescriptor, i)->attlen != -1)
			continue;
		value = (struct varlena *) DatumGetPointer(slot->tts_values[i]);
		if (!VARATT_IS_EXTERNAL_ONDISK(value))
			continue;
		VARATT_EXTERNAL_GET_POINTER(pointer, value);
		if (pointer.va_toastrelid != rel->rd_rel->reltoastrelid)
			lock_toast_table(pointer.va_toastrelid, false);
	}
}

/*
 * The options heap gets for a row placed on p's target.  Without the free
 * space map: were the target to lack room after all, heap would take a
 * page from it, which may be another owner's, where a new page of the
 * end of the relation is the owner's.  But heap hands the option on to
 * the inserts of the row's TOASTed values, which would then all go to the
 * end of the TOAST table, never to room VACUUM freed there: replacing
 * large values would grow the TOAST table without bound.  So a row heap
 * will TOAST is inserted with the free space map, once its target is
 * held against being taken as an empty page while the values are stored
 * (VACUUM may empty it meanwhile), and seen to be the owner's with the
 * room the row takes at most once TOASTed (row_length.h); if it lacks it
 * (the owner map's estimate was off), the owner is placed again, by a
 * look at its page, and if that fails too, the row gets an empty page.  A row whose page fills
 * up while its values are stored (another session of the owner updating
 * a row on it in place, or using room the map counted as free) may still
 * go where the free space map says.
 */
/*
 * For a row on a long way to its page (see placement_hold_target()): hold
 * the target; if it is not the owner's, lacks room or is being taken as
 * empty, place the owner again (pins: the insert's, which then pin the new
 * target; NULL for an update) and hold that; failing again, an empty page.
 */
static void
hold_target(Relation rel, BulkInsertState pins, bool bulk, const char *owner, int owner_len,
			const RowLength *length, Placement *p)
{
	if (placement_hold_target(rel, owner, owner_len, p))
		return;
	forget_target(rel, owner, owner_len, p);
	if (pins != NULL)
		begin_target(rel, pins, bulk, owner, owner_len, length->len, length->max_len, 1, p);
	else
		placement_begin(rel, owner, owner_len, length->len, length->max_len, 1, false, p);
	if (placement_hold_target(rel, owner, owner_len, p))
		return;
	/* a page no one else has, pinned for heap as any target */
	if (pins != NULL)
		ReleaseBulkInsertStatePin(pins);
	placement_take_empty_page(rel, owner, owner_len, p);
	if (pins != NULL)
		prepare_target(rel, pins, p, length->len);
}

static int
row_options(Relation rel, BulkInsertState pins, RowPlacement *row, int options)
{
	if (row->length.toasts)
	{
		hold_target(rel, pins, row->bulk, row->owner, row->owner_len, &row->length, &row->p);
		row->p.may_use_fsm = true;
		return options;
	}
	return options | HEAP_INSERT_SKIP_FSM;
}

/*
 * heap forms a row's tuple in its slot before it inserts it
 * (ExecFetchSlotHeapTuple()); formed first, its length is there to read,
 * where measuring the values would go over them once more.
 */
static void
measure_row(Relation rel, TupleTableSlot *slot, RowLength *length)
{
	if (TTS_IS_HEAPTUPLE(slot) || TTS_IS_BUFFERTUPLE(slot))
		ExecMaterializeSlot(slot);
	row_length(rel, slot, length);
}

/*
 * Choose the page for the row in slot, make it heap's target, and return
 * the options to insert it with; -1 if the relation has no owner column
 * (heap places the row).  length: the row's, if the caller has it already.
 */
static int
begin_row(Relation rel, TupleTableSlot *slot, BulkInsertState pins, bool bulk, int options,
		  const RowLength *length, RowPlacement *row)
{
	if (!kalam_slot_owner(rel, slot, row->owner, &row->owner_len))
		return -1;
	row->bulk = bulk;
	if (!bulk)
		prefetch_owner(rel, row->owner, row->owner_len);
	else
		prefetch_owner_page(rel, row->owner, row->owner_len);
	if (length != NULL)
		row->length = *length;
	else
		measure_row(rel, slot, &row->length);
	if (row->length.toasts)
		kalam_lock_toast_relation(rel, slot);
	begin_target(rel, pins, bulk, row->owner, row->owner_len, row->length.len,
				 row->length.max_len, 1, &row->p);
	return row_options(rel, pins, row, options);
}

/* heap has put the row: see where */
static void
end_row(Relation rel, TupleTableSlot *slot, BulkInsertState pins, RowPlacement *row)
{
	placement_note_buffer(rel, row->owner, row->owner_len, &row->p, pins->current_buf);
	placement_finish(rel, row->owner, row->owner_len, &row->p, 1,
					 ItemPointerGetBlockNumber(&slot->tts_tid));
}

/* How heap is to insert a row: plainly, or speculatively (ON CONFLICT) */
typedef struct HeapInsertKind
{
	bool		speculative;
	uint32		spec_token;		/* speculative: the insertion's token */
} HeapInsertKind;

static const HeapInsertKind plain_insert = {false, 0};

/*
 * One row to heap, on its target pinned in pins.  COPY FREEZE's rows go
 * through heap's multi-insert, even alone: its single insert marks no page
 * all-frozen, and would clear the mark a batch left on the owner's page.
 * Rows of interleaved owners come alone, one to each owner's page.
 */
static void
heap_insert_one(Relation rel, TupleTableSlot *slot, CommandId cid, int options,
				BulkInsertState pins, const HeapInsertKind *kind)
{
	if (kind->speculative)
		heap_methods->tuple_insert_speculative(rel, slot, cid, options, pins, kind->spec_token);
	else if (options & HEAP_INSERT_FROZEN)
		heap_methods->multi_insert(rel, &slot, 1, cid, options, pins);
	else
		heap_methods->tuple_insert(rel, slot, cid, options, pins);
}

/* A single insert; length: the row's, if the caller has it already */
static void
insert_row(Relation rel, TupleTableSlot *slot, CommandId cid, int options,
		   BulkInsertState bistate, const RowLength *length, const HeapInsertKind *kind)
{
	RowPlacement row;
	BulkInsertStateData own_pins;
	BulkInsertState pins = pins_for(bistate, &own_pins);
	int			row_opts = begin_row(rel, slot, pins, bistate != NULL, options, length, &row);

	if (row_opts < 0)
	{
		/* no owner column: heap places the row, as it would its own */
		if (kind->speculative)
			heap_methods->tuple_insert_speculative(rel, slot, cid, options, bistate,
												   kind->spec_token);
		else
			heap_methods->tuple_insert(rel, slot, cid, options, bistate);
		return;
	}
	heap_insert_one(rel, slot, cid, row_opts, pins, kind);
	end_row(rel, slot, pins, &row);
	release_pins(pins, bistate);
}

static void
kalamdb_tuple_insert(Relation rel, TupleTableSlot *slot, CommandId cid,
					 int options, BulkInsertState bistate)
{
	insert_row(rel, slot, cid, options, bistate, NULL, &plain_insert);
}

static void
kalamdb_tuple_insert_speculative(Relation rel, TupleTableSlot *slot, CommandId cid,
								 int options, BulkInsertState bistate, uint32 specToken)
{
	HeapInsertKind kind = {true, specToken};

	insert_row(rel, slot, cid, options, bistate, NULL, &kind);
}

/* groups of fewer rows of one owner skip the COPY's bulk-write ring */
#define BULK_GROUP_ROWS 64

/*
 * multi_insert: the batch, regrouped by owner; order within an owner kept.
 * What is sorted is small (the owners' bytes stay in one array), since a
 * COPY batch of interleaved owners is sorted as a whole.
 */
typedef struct SlotOwner
{
	int			index;
	int			owner_len;		/* -1: no owner */
	const char *owner;
} SlotOwner;

static int
slot_owner_cmp(const void *a, const void *b)
{
	const SlotOwner *x = (const SlotOwner *) a;
	const SlotOwner *y = (const SlotOwner *) b;
	int			r;

	if ((x->owner_len < 0) != (y->owner_len < 0))
		return x->owner_len < 0 ? -1 : 1;
	if (x->owner_len >= 0)
	{
		r = memcmp(x->owner, y->owner, Min(x->owner_len, y->owner_len));
		if (r == 0)
			r = x->owner_len - y->owner_len;
		if (r != 0)
			return r;
	}
	return x->index - y->index;
}

static inline bool
same_owner(const SlotOwner *x, const SlotOwner *y)
{
	if (x->owner_len < 0 || y->owner_len < 0)
		return x->owner_len < 0 && y->owner_len < 0;
	return x->owner_len == y->owner_len && memcmp(x->owner, y->owner, x->owner_len) == 0;
}

/* A batch of rows of one owner, none of which heap will TOAST */
static void
insert_batch(Relation rel, const char *owner, int owner_len, TupleTableSlot **rows,
			 int nrows, Size len, CommandId cid, int options, BulkInsertState bistate)
{
	Placement	p;

	if (nrows == 0)
		return;
	begin_target(rel, bistate, true, owner, owner_len, len, len, nrows, &p);
	/*
	 * A batch of interleaved owners has groups of one row: heap's single
	 * insert does less for one (a simpler WAL record, no batch arrays)
	 */
	if (nrows == 1)
		heap_insert_one(rel, rows[0], cid, options | HEAP_INSERT_SKIP_FSM, bistate,
						&plain_insert);
	else
		heap_methods->multi_insert(rel, rows, nrows, cid, options | HEAP_INSERT_SKIP_FSM, bistate);
	placement_note_buffer(rel, owner, owner_len, &p, bistate->current_buf);
	placement_finish(rel, owner, owner_len, &p, nrows,
					 ItemPointerGetBlockNumber(&rows[nrows - 1]->tts_tid));
}

/*
 * Rows of one owner, in order: those heap will not TOAST go to heap in
 * batches, each placed by the length of its first row; a row heap will
 * TOAST goes alone, as a single insert does it (see row_options()), placed
 * by the length measured here.
 */
static void
insert_owner_rows(Relation rel, const char *owner, int owner_len, TupleTableSlot **rows,
				  int nrows, CommandId cid, int options, BulkInsertState bistate)
{
	bool		may_toast = OidIsValid(rel->rd_rel->reltoastrelid);
	int			first = 0;		/* the batch being gathered */
	Size		first_len = 0;

	for (int i = 0; i < nrows; i++)
	{
		RowLength	length;

		/* without a TOAST table, only the batch's first row is measured */
		if (!may_toast && i > first)
			continue;
		measure_row(rel, rows[i], &length);
		if (i == first)
			first_len = length.len;
		if (length.toasts)
		{
			insert_batch(rel, owner, owner_len, rows + first, i - first, first_len,
						 cid, options, bistate);
			insert_row(rel, rows[i], cid, options, bistate, &length, &plain_insert);
			first = i + 1;
		}
	}
	insert_batch(rel, owner, owner_len, rows + first, nrows - first, first_len,
				 cid, options, bistate);
}

static void
kalamdb_multi_insert(Relation rel, TupleTableSlot **slots, int nslots,
					 CommandId cid, int options, BulkInsertState bistate)
{
	SlotOwner  *order;
	char	   *owners;			/* the owners' bytes, back to back */
	TupleTableSlot **group;
	int		   *starts;			/* where each group starts in order */
	int			ngroups = 0;
	BulkInsertStateData no_ring;	/* pins pages, without a ring */

	if (kalam_rel_cache(rel)->owner_attno == 0)
	{
		heap_methods->multi_insert(rel, slots, nslots, cid, options, bistate);
		return;
	}

	KalamInitBulkInsertPins(&no_ring);
	order = palloc(nslots * sizeof(SlotOwner));
	owners = palloc((Size) nslots * USER_ID_MAX_LEN);
	group = palloc(nslots * sizeof(TupleTableSlot *));
	for (int i = 0, used = 0; i < nslots; i++)
	{
		order[i].index = i;
		order[i].owner = owners + used;
		if (kalam_slot_owner(rel, slots[i], owners + used, &order[i].owner_len))
			used += order[i].owner_len;
		else
			order[i].owner_len = -1;
	}
	qsort(order, nslots, sizeof(SlotOwner), slot_owner_cmp);
	starts = palloc((nslots + 1) * sizeof(int));
	for (int i = 0; i < nslots; i++)
		if (i == 0 || !same_owner(&order[i], &order[i - 1]))
			starts[ngroups++] = i;
	starts[ngroups] = nslots;

	for (int g = 0; g < ngroups; g++)
	{
		int			start = starts[g];
		int			end = starts[g + 1];
		int			n = 0;

		for (int i = start; i < end; i++)
			group[n++] = slots[order[i].index];
		/* the group after the next one: see prefetch_owner_page() */
		if (g + 2 < ngroups && order[starts[g + 2]].owner_len >= 0)
			prefetch_owner_page(rel, order[starts[g + 2]].owner, order[starts[g + 2]].owner_len);

		if (order[start].owner_len < 0)
			heap_methods->multi_insert(rel, group, n, cid, options, bistate);
		else
		{
			/*
			 * A bulk-write ring only pays for long runs of one owner: rows
			 * of interleaved owners go to as many pages, which a ring
			 * would keep writing out and reading back.
			 */
			BulkInsertState group_bistate = (n >= BULK_GROUP_ROWS && bistate != NULL) ?
				bistate : &no_ring;

			if (group_bistate != bistate && bistate != NULL)
				ReleaseBulkInsertStatePin(bistate);
			insert_owner_rows(rel, order[start].owner, order[start].owner_len, group, n,
							  cid, options, group_bistate);
		}
	}
	ReleaseBulkInsertStatePin(&no_ring);
	pfree(order);
	pfree(owners);
	pfree(group);
	pfree(starts);
}

/*
 * Updates: a new version that does not fit on its old page goes to a page
 * of its owner, and so does one that changes the row's owner.  An empty
 * page taken for it stays claimed while heap_update() waits for the row's
 * lock, which is harmless: no one waits for a claim (placement.c).
 */
#if PG_VERSION_NUM >= 160000
typedef TU_UpdateIndexes UpdateIndexesResult;
#define ALL_INDEXES TU_All
#else
typedef bool UpdateIndexesResult;
#define ALL_INDEXES true
#endif

/*
 * Look at the old version at otid: whether it is seen to have another
 * owner than the new one, and, in *fits, whether a new version of len
 * bytes fits on its page now.
 */
static bool
owner_changes(Relation rel, ItemPointer otid, const char *owner, int owner_len,
			  Size len, bool *fits)
{
	Buffer		buffer = ReadBuffer(rel, ItemPointerGetBlockNumber(otid));
	OffsetNumber offset = ItemPointerGetOffsetNumber(otid);
	Page		page;
	char		old_owner[USER_ID_MAX_LEN];
	int			old_len;
	bool		changes = false;
	HeapTuple	out_of_line = NULL;

	LockBuffer(buffer, BUFFER_LOCK_SHARE);
	page = BufferGetPage(buffer);
	/* not a row to read: heap_update() will tell what became of it */
	if (offset <= PageGetMaxOffsetNumber(page) && ItemIdIsNormal(PageGetItemId(page, offset)))
	{
		if (placement_tuple_owner(rel, kalam_rel_cache(rel)->owner_attno, page, offset,
								  old_owner, &old_len))
			changes = old_len != owner_len || memcmp(old_owner, owner, owner_len) != 0;
		else
		{
			/* an owner moved out of line (the widest rows): read once unlocked */
			HeapTupleData tuple;

			tuple.t_data = (HeapTupleHeader) PageGetItem(page, PageGetItemId(page, offset));
			tuple.t_len = ItemIdGetLength(PageGetItemId(page, offset));
			tuple.t_tableOid = RelationGetRelid(rel);
			out_of_line = heap_copytuple(&tuple);
		}
	}
	*fits = PageGetHeapFreeSpace(page) >= MAXALIGN(len);
	UnlockReleaseBuffer(buffer);
	if (out_of_line != NULL)
	{
		bool		isnull;
		Datum		value = heap_getattr(out_of_line, kalam_rel_cache(rel)->owner_attno,
										 RelationGetDescr(rel), &isnull);

		if (kalam_datum_owner(value, isnull, old_owner, &old_len))
			changes = old_len != owner_len || memcmp(old_owner, owner, owner_len) != 0;
		heap_freetuple(out_of_line);
	}
	return changes;
}

bool
kalam_relation_is_published(Relation rel)
{
	PublicationDesc pubdesc;

	RelationBuildPublicationDesc(rel, &pubdesc);
	return pubdesc.pubactions.pubinsert || pubdesc.pubactions.pubupdate ||
		pubdesc.pubactions.pubdelete;
}

/*
 * An update that gives the row to another owner: heap_update() would keep
 * the new version on the old owner's page wherever it fits there.  So the
 * row moves as a cross-partition UPDATE moves it: heap's delete of the old
 * version, marked as moved (a concurrent update, delete or lock of it then
 * fails with 40001 instead of going on to the new version, which it could
 * not find), and an insert of the new version on its owner's page, with
 * new index entries.
 */
static TM_Result
move_to_new_owner(Relation rel, ItemPointer otid, TupleTableSlot *slot, CommandId cid,
				  Snapshot snapshot, Snapshot crosscheck, bool wait, TM_FailureData *tmfd,
				  LockTupleMode *lockmode, UpdateIndexesResult *update_indexes)
{
	TM_Result	result;

	*lockmode = LockTupleExclusive;
	result = heap_methods->tuple_delete(rel, otid, cid, snapshot, crosscheck, wait, tmfd, true);
	if (result != TM_Ok)
		return result;
	insert_row(rel, slot, cid, 0, NULL, NULL, &plain_insert);
	*update_indexes = ALL_INDEXES;
	return TM_Ok;
}

static TM_Result
kalamdb_tuple_update(Relation rel, ItemPointer otid, TupleTableSlot *slot,
					 CommandId cid, Snapshot snapshot, Snapshot crosscheck,
					 bool wait, TM_FailureData *tmfd, LockTupleMode *lockmode,
					 UpdateIndexesResult *update_indexes)
{
	char		owner[USER_ID_MAX_LEN];
	int			owner_len;
	Placement	p;
	TM_Result	result;
	RowLength	length;
	bool		fits;

	/*
	 * heap keeps the new version on its page if it fits there (once
	 * TOASTed): it then needs no other page
	 */
	if (!kalam_slot_owner(rel, slot, owner, &owner_len))
		return heap_methods->tuple_update(rel, otid, slot, cid, snapshot, crosscheck,
										  wait, tmfd, lockmode, update_indexes);
	row_length(rel, slot, &length);
	/*
	 * a published table's rows are not moved: a publication of some actions
	 * only (or with a row filter) would pass on part of the move
	 */
	if (owner_changes(rel, otid, owner, owner_len, length.max_len, &fits) &&
		!kalam_relation_is_published(rel))
		return move_to_new_owner(rel, otid, slot, cid, snapshot, crosscheck, wait, tmfd,
								 lockmode, update_indexes);
	if (fits)
	{
		/* heap may find it full after waiting for the row's lock */
		placement_point_at_own_page(rel, owner, owner_len);
		return heap_methods->tuple_update(rel, otid, slot, cid, snapshot, crosscheck,
										  wait, tmfd, lockmode, update_indexes);
	}

	/*
	 * else heap tries the target before the free space map, which may name
	 * another owner's page: the target is held and looked at first (heap
	 * may wait for the row's lock, VACUUM empty the target meanwhile).
	 * (heap may TOAST the new version, or delete the old one's TOASTed
	 * values.)
	 */
	kalam_lock_toast_relation(rel, slot);
	/* heap reads the indexed columns first, opening the indexes if it must */
	bms_free(RelationGetIndexAttrBitmap(rel, INDEX_ATTR_BITMAP_KEY));
	placement_begin(rel, owner, owner_len, length.len, length.max_len, 1, false, &p);
	hold_target(rel, NULL, false, owner, owner_len, &length, &p);
	p.may_use_fsm = true;		/* heap_update() takes no options */
	result = heap_methods->tuple_update(rel, otid, slot, cid, snapshot, crosscheck,
										wait, tmfd, lockmode, update_indexes);
	placement_finish(rel, owner, owner_len, &p, 1,
					 result == TM_Ok &&
					 ItemPointerGetBlockNumber(&slot->tts_tid) != ItemPointerGetBlockNumber(otid) ?
					 ItemPointerGetBlockNumber(&slot->tts_tid) : InvalidBlockNumber);
	return result;
}

/*
 * heap_getnext() insists on heap's routine, and heap's index build calls it:
 * run heap's build with the relation presenting heap's routine.  Should
 * its relcache entry be rebuilt meanwhile (an invalidation arriving while
 * the build opens something), a relcache callback presents heap's routine
 * again: the entry is rebuilt in place, so the Relation stays the same.
 * Only the relations being built present it; others whose entries are
 * built meanwhile (a table an index expression reads) keep their own.
 */
#define MAX_NESTED_BUILDS 8

static Relation building[MAX_NESTED_BUILDS];
static int	nbuilding = 0;

/*
 * Reads are heap's; a SERIALIZABLE one whose snapshot is older than a
 * compaction fails (see compaction.c), checked with each tuple asked for
 * (a cursor may go on reading after a compaction committed).
 */
static bool
kalamdb_scan_getnextslot(TableScanDesc scan, ScanDirection direction, TupleTableSlot *slot)
{
	compaction_check_old_snapshot(scan->rs_rd, scan->rs_snapshot);
	return heap_methods->scan_getnextslot(scan, direction, slot);
}

static bool
kalamdb_scan_getnextslot_tidrange(TableScanDesc scan, ScanDirection direction,
								  TupleTableSlot *slot)
{
	compaction_check_old_snapshot(scan->rs_rd, scan->rs_snapshot);
	return heap_methods->scan_getnextslot_tidrange(scan, direction, slot);
}

static bool
kalamdb_scan_bitmap_next_tuple(TableScanDesc scan, struct TBMIterateResult *tbmres,
							   TupleTableSlot *slot)
{
	compaction_check_old_snapshot(scan->rs_rd, scan->rs_snapshot);
	return heap_methods->scan_bitmap_next_tuple(scan, tbmres, slot);
}

static bool
kalamdb_scan_sample_next_tuple(TableScanDesc scan, struct SampleScanState *scanstate,
							   TupleTableSlot *slot)
{
	compaction_check_old_snapshot(scan->rs_rd, scan->rs_snapshot);
	return heap_methods->scan_sample_next_tuple(scan, scanstate, slot);
}

static bool
kalamdb_index_fetch_tuple(struct IndexFetchTableData *scan, ItemPointer tid,
						  Snapshot snapshot, TupleTableSlot *slot,
						  bool *call_again, bool *all_dead)
{
	compaction_check_old_snapshot(scan->rel, snapshot);
	return heap_methods->index_fetch_tuple(scan, tid, snapshot, slot, call_again, all_dead);
}

static bool
kalamdb_tuple_fetch_row_version(Relation rel, ItemPointer tid, Snapshot snapshot,
								TupleTableSlot *slot)
{
	compaction_check_old_snapshot(rel, snapshot);
	return heap_methods->tuple_fetch_row_version(rel, tid, snapshot, slot);
}

static void
present_heap_routine(Datum arg, Oid relid)
{
	for (int i = 0; i < nbuilding; i++)
		if (!OidIsValid(relid) || RelationGetRelid(building[i]) == relid)
			building[i]->rd_tableam = heap_methods;
}

static const TableAmRoutine *
begin_heap_build(Relation rel)
{
	static bool callback_registered = false;
	const TableAmRoutine *own = rel->rd_tableam;

	if (!callback_registered)
	{
		CacheRegisterRelcacheCallback(present_heap_routine, (Datum) 0);
		callback_registered = true;
	}
	if (nbuilding >= MAX_NESTED_BUILDS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many nested index builds on kalamdb tables"),
				 errdetail("An index expression builds an index in turn, %d deep.",
						   MAX_NESTED_BUILDS)));
	building[nbuilding++] = rel;
	rel->rd_tableam = heap_methods;
	return own;
}

static void
end_heap_build(Relation rel, const TableAmRoutine *own)
{
	Assert(nbuilding > 0 && building[nbuilding - 1] == rel);
	nbuilding--;
	rel->rd_tableam = own;
}

static double
kalamdb_index_build_range_scan(Relation table_rel, Relation index_rel,
							   IndexInfo *index_info, bool allow_sync,
							   bool anyvisible, bool progress,
							   BlockNumber start_blockno, BlockNumber numblocks,
							   IndexBuildCallback callback, void *callback_state,
							   TableScanDesc scan)
{
	const TableAmRoutine *own = begin_heap_build(table_rel);
	double		result;

	PG_TRY();
	{
		result = heap_methods->index_build_range_scan(table_rel, index_rel, index_info,
													  allow_sync, anyvisible, progress,
													  start_blockno, numblocks,
													  callback, callback_state, scan);
	}
	PG_FINALLY();
	{
		end_heap_build(table_rel, own);
	}
	PG_END_TRY();
	return result;
}

static void
kalamdb_index_validate_scan(Relation table_rel, Relation index_rel,
							IndexInfo *index_info, Snapshot snapshot,
							ValidateIndexState *state)
{
	const TableAmRoutine *own = begin_heap_build(table_rel);

	PG_TRY();
	{
		heap_methods->index_validate_scan(table_rel, index_rel, index_info, snapshot, state);
	}
	PG_FINALLY();
	{
		end_heap_build(table_rel, own);
	}
	PG_END_TRY();
}

static Oid
kalamdb_relation_toast_am(Relation rel)
{
	return HEAP_TABLE_AM_OID;
}

#if PG_VERSION_NUM >= 160000
static void
kalamdb_relation_set_new_filelocator(Relation rel, const RelFileLocator *newrlocator,
									 char persistence, TransactionId *freezeXid,
									 MultiXactId *minmulti)
{
	heap_methods->relation_set_new_filelocator(rel, newrlocator, persistence,
											   freezeXid, minmulti);
	/* a temporary table's placement does not use the map (rel_cache.c) */
	if (persistence == RELPERSISTENCE_TEMP)
		return;
	owner_map_forget_relation(newrlocator);
	owner_map_set_complete(newrlocator, true);
}
#else
static void
kalamdb_relation_set_new_filenode(Relation rel, const RelFileNode *newrnode,
								  char persistence, TransactionId *freezeXid,
								  MultiXactId *minmulti)
{
	heap_methods->relation_set_new_filenode(rel, newrnode, persistence, freezeXid, minmulti);
	/* a temporary table's placement does not use the map (rel_cache.c) */
	if (persistence == RELPERSISTENCE_TEMP)
		return;
	/* hints left by an earlier relation with the same file number */
	owner_map_forget_relation(newrnode);
	/* new and empty: every owner it gets will come through the map */
	owner_map_set_complete(newrnode, true);
}
#endif

static void
kalamdb_relation_nontransactional_truncate(Relation rel)
{
	heap_methods->relation_nontransactional_truncate(rel);
	if (RelationUsesLocalBuffers(rel))
		return;
	owner_map_forget_relation(&KalamRelStorageOf(rel));
	owner_map_set_complete(&KalamRelStorageOf(rel), true);
}

static void
kalamdb_relation_vacuum(Relation rel, struct VacuumParams *params,
						BufferAccessStrategy bstrategy)
{
	KalamRelStorage storage = KalamRelStorageOf(rel);
	BlockNumber before;

	if (RelationUsesLocalBuffers(rel))
	{
		heap_methods->relation_vacuum(rel, params, bstrategy);
		return;
	}

	/* pages may be emptied: hints must be looked at again */
	before = RelationGetNumberOfBlocks(rel);
	owner_map_vacuum_begin(&storage);
	PG_TRY();
	{
		heap_methods->relation_vacuum(rel, params, bstrategy);
		if (RelationGetNumberOfBlocks(rel) < before)
			owner_map_forget_relation(&storage);
	}
	PG_FINALLY();
	{
		owner_map_vacuum_end(&storage);
	}
	PG_END_TRY();
}

/* ALTER TABLE SET TABLESPACE: new storage, which earlier hints may name */
#if PG_VERSION_NUM >= 160000
static void
kalamdb_relation_copy_data(Relation rel, const RelFileLocator *newrlocator)
{
	heap_methods->relation_copy_data(rel, newrlocator);
	if (RelationUsesLocalBuffers(rel))
		return;
	owner_map_forget_relation(newrlocator);
	owner_map_set_complete(newrlocator, false);
}
#else
static void
kalamdb_relation_copy_data(Relation rel, const RelFileNode *newrnode)
{
	heap_methods->relation_copy_data(rel, newrnode);
	if (RelationUsesLocalBuffers(rel))
		return;
	owner_map_forget_relation(newrnode);
	owner_map_set_complete(newrnode, false);
}
#endif

/* VACUUM FULL (no index given): rewrite in owner order if we can. */
static void
kalamdb_relation_copy_for_cluster(Relation OldTable, Relation NewTable,
								  Relation OldIndex, bool use_sort,
								  TransactionId OldestXmin,
								  TransactionId *xid_cutoff,
								  MultiXactId *multi_cutoff,
								  double *num_tuples,
								  double *tups_vacuumed,
								  double *tups_recently_dead)
{
	Relation	owner_index = NULL;

	if (OldIndex == NULL && OidIsValid(kalam_owner_index(OldTable)))
	{
		owner_index = index_open(kalam_owner_index(OldTable), AccessShareLock);
		OldIndex = owner_index;
		use_sort = true;
	}
	heap_methods->relation_copy_for_cluster(OldTable, NewTable, OldIndex, use_sort,
											OldestXmin, xid_cutoff, multi_cutoff,
											num_tuples, tups_vacuumed, tups_recently_dead);
	/* the rows came in without the map: ask the owner index again */
	if (!RelationUsesLocalBuffers(NewTable))
		owner_map_set_complete(&KalamRelStorageOf(NewTable), false);
	if (owner_index)
		index_close(owner_index, AccessShareLock);
}

PG_FUNCTION_INFO_V1(kalam_kalamdb_am_handler);
Datum
kalam_kalamdb_am_handler(PG_FUNCTION_ARGS)
{
	kalam_require_preload("the kalamdb table access method");

	if (heap_methods == NULL)
	{
		heap_methods = GetHeapamTableAmRoutine();
		kalamdb_methods = *heap_methods;
		kalamdb_methods.scan_getnextslot = kalamdb_scan_getnextslot;
		kalamdb_methods.scan_getnextslot_tidrange = kalamdb_scan_getnextslot_tidrange;
		kalamdb_methods.scan_bitmap_next_tuple = kalamdb_scan_bitmap_next_tuple;
		kalamdb_methods.scan_sample_next_tuple = kalamdb_scan_sample_next_tuple;
		kalamdb_methods.index_fetch_tuple = kalamdb_index_fetch_tuple;
		kalamdb_methods.tuple_fetch_row_version = kalamdb_tuple_fetch_row_version;
		kalamdb_methods.tuple_insert = kalamdb_tuple_insert;
		kalamdb_methods.tuple_insert_speculative = kalamdb_tuple_insert_speculative;
		kalamdb_methods.multi_insert = kalamdb_multi_insert;
		kalamdb_methods.tuple_update = kalamdb_tuple_update;
		kalamdb_methods.index_build_range_scan = kalamdb_index_build_range_scan;
		kalamdb_methods.index_validate_scan = kalamdb_index_validate_scan;
		kalamdb_methods.relation_toast_am = kalamdb_relation_toast_am;
#if PG_VERSION_NUM >= 160000
		kalamdb_methods.relation_set_new_filelocator = kalamdb_relation_set_new_filelocator;
#else
		kalamdb_methods.relation_set_new_filenode = kalamdb_relation_set_new_filenode;
#endif
		kalamdb_methods.relation_nontransactional_truncate = kalamdb_relation_nontransactional_truncate;
		kalamdb_methods.relation_vacuum = kalamdb_relation_vacuum;
		kalamdb_methods.relation_copy_for_cluster = kalamdb_relation_copy_for_cluster;
		kalamdb_methods.relation_copy_data = kalamdb_relation_copy_data;
	}
	PG_RETURN_POINTER(&kalamdb_methods);
}

bool
kalamdb_relation(Relation rel)
{
	return heap_methods != NULL && rel->rd_tableam == &kalamdb_methods;
}
