/*-------------------------------------------------------------------------
 *
 * compaction.c
 *	  kalam.compact(regclass): gathers the rows of each owner whose rows
 *	  lie on more pages than they need onto the fullest pages of its own.
 *
 * Placement keeps an owner's new rows together, but deletes leave holes
 * that VACUUM frees where they are: after a delete/VACUUM/insert cycle an
 * owner can keep rows on its first, shared page and on a page it has
 * barely used, beyond what its rows need.  No placement of new rows can
 * undo that; moving the old ones can.  For each such owner, its sparsest
 * pages are emptied, one whole page at a time and only while the owner's
 * rows on it fit into the room left on its other pages of its own (pages
 * holding only its rows), fullest first.
 *
 * A row moves as heap's delete of the old version and heap's insert of a
 * copy on the chosen page (its TOASTed values stored anew), with its index
 * entries; no trigger fires and no constraint is checked again, as the
 * row's values do not change.  The table is locked in EXCLUSIVE mode for
 * the call: reads go on, writes (and row locks) wait, as for REFRESH
 * MATERIALIZED VIEW CONCURRENTLY.  Readers with an older snapshot still
 * see the old versions; to a transaction that then tries to change or
 * lock one, the row was deleted (REPEATABLE READ: a serialization
 * failure).  The call runs at READ COMMITTED, with a snapshot taken once
 * it holds its lock; it refuses a table with pending trigger events or
 * open cursors in the session (as TRUNCATE does), and a published one,
 * whose subscribers would get the moves as changes.  The pages emptied
 * hold the old versions until VACUUM frees them for other owners.
 *
 * A SERIALIZABLE transaction that read a row holds a predicate lock on
 * the row's old version, which a write of the moved copy would not meet:
 * as CLUSTER does, the relation's tuple and page predicate locks become
 * locks on the whole relation, when the call starts and again just before
 * its transaction commits (readers go on meanwhile), then under an ACCESS
 * EXCLUSIVE lock if one can be had at once.  A SERIALIZABLE transaction
 * whose snapshot does not show the compaction fails when it reads on
 * (compaction_check_old_snapshot()).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/heapam.h"
#include "access/hio.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/index.h"
#include "catalog/pg_class.h"
#include "commands/tablecmds.h"
#include "executor/executor.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/execnodes.h"
#include "storage/bufmgr.h"
#include "storage/lmgr.h"
#include "storage/predicate.h"
#include "storage/proc.h"
#include "tcop/utility.h"
#include "utils/acl.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "am/am_compat.h"
#include "am/kalamdb_am.h"
#include "am/owner_map.h"
#include "am/placement.h"
#include "am/rel_cache.h"
#include "am/row_length.h"
#include "keys/key_kind.h"

/* A live row: whose, where, and the room it takes on a page */
typedef struct RowRef
{
	uint32		owner;			/* index into the owners seen */
	BlockNumber block;
	OffsetNumber offset;
	uint16		room;			/* MAXALIGN(t_len) + a line pointer */
} RowRef;

/* Key of the owners' hash table: an owner id, zero-padded */
typedef struct OwnerKey
{
	int			len;
	char		bytes[USER_ID_MAX_LEN];
} OwnerKey;

typedef struct OwnerEntry
{
	OwnerKey	key;
	uint32		index;
} OwnerEntry;

/* A page holding rows of the owner being compacted */
typedef struct OwnerPage
{
	BlockNumber block;
	Size		used;			/* room the owner's rows take there */
	int			first_row;		/* its rows: rows[first_row .. +nrows) */
	int			nrows;
	bool		own;			/* no other owner's rows there */
	bool		emptied;		/* its rows of the owner moved away */
	bool		received;		/* rows moved here */
	Size		free;			/* own pages: room left, as planned */
	int			items_left;		/* own pages: line pointers left, as planned */
} OwnerPage;

#define MIXED_PAGE	PG_UINT32_MAX	/* page_owner[] of a page of several owners */
#define NO_OWNER	(PG_UINT32_MAX - 1) /* page_owner[] of a page with no live row */

typedef struct Compaction
{
	Relation	rel;
	Snapshot	snapshot;
	CommandId	cid;
	EState	   *estate;
	ResultRelInfo *result_rel;
	TupleTableSlot *slot;
	Size		reserve;		/* the fillfactor's, left free on each page */
	Size		page_room;		/* room for rows on an empty page */
	RowRef	   *rows;
	int64		nrows;
	uint32	   *page_owner;		/* per block: owner index, MIXED_PAGE, NO_OWNER */
	BlockNumber nblocks;
	int64		moved;
} Compaction;

/*
 * The room a page offers rows, keeping the fillfactor's reserve, and how
 * many more line pointers it can take.  With known (the offset of a row of
 * the owner being compacted), *own tells whether the page is the owner's
 * alone: the snapshot's rows may all be the owner's on a shared page that
 * still holds other owners' deleted rows, whose owners, looking for their
 * pages through the owner index, would come back to it.
 */
static Size
page_free_room(Compaction *c, BlockNumber block, OffsetNumber known, bool *own,
			   int *items_left)
{
	Buffer		buffer = ReadBuffer(c->rel, block);
	Page		page;
	Size		free;

	LockBuffer(buffer, BUFFER_LOCK_SHARE);
	page = BufferGetPage(buffer);
	free = PageGetHeapFreeSpace(page);
	*items_left = (int) MaxHeapTuplesPerPage - (int) PageGetMaxOffsetNumber(page);
	if (own != NULL)
		*own = placement_page_is_one_owners(c->rel, page, known);
	UnlockReleaseBuffer(buffer);
	/* PageGetHeapFreeSpace() already left out one line pointer */
	free += sizeof(ItemIdData);
	return free > c->reserve ? free - c->reserve : 0;
}

/* Every live row of the relation, with its owner; page_owner filled in */
static void
collect_rows(Compaction *c)
{
	HASHCTL		ctl;
	HTAB	   *owners;
	TableScanDesc scan;
	int64		allocated = 1024;
	uint32		nowners = 0;

	ctl.keysize = sizeof(OwnerKey);
	ctl.entrysize = sizeof(OwnerEntry);
	ctl.hcxt = CurrentMemoryContext;
	owners = hash_create("kalamdb compaction owners", 1024, &ctl,
						 HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);

	c->nblocks = RelationGetNumberOfBlocks(c->rel);
	c->page_owner = palloc_extended(Max(c->nblocks, 1) * sizeof(uint32), MCXT_ALLOC_HUGE);
	for (BlockNumber b = 0; b < c->nblocks; b++)
		c->page_owner[b] = NO_OWNER;
	c->rows = palloc_extended(allocated * sizeof(RowRef), MCXT_ALLOC_HUGE);
	c->nrows = 0;

	scan = table_beginscan(c->rel, c->snapshot, 0, NULL);
	while (table_scan_getnextslot(scan, ForwardScanDirection, c->slot))
	{
		OwnerKey	key;
		OwnerEntry *entry;
		bool		found;
		RowRef	   *row;
		bool		should_free;
		HeapTuple	tuple;

		CHECK_FOR_INTERRUPTS();
		memset(&key, 0, sizeof(key));
		if (!kalam_slot_owner(c->rel, c->slot, key.bytes, &key.len))
			continue;
		entry = hash_search(owners, &key, HASH_ENTER, &found);
		if (!found)
			entry->index = nowners++;

		if (c->nrows == allocated)
		{
			allocated *= 2;
			c->rows = repalloc_huge(c->rows, allocated * sizeof(RowRef));
		}
		tuple = ExecFetchSlotHeapTuple(c->slot, false, &should_free);
		row = &c->rows[c->nrows++];
		row->owner = entry->index;
		row->block = ItemPointerGetBlockNumber(&c->slot->tts_tid);
		row->offset = ItemPointerGetOffsetNumber(&c->slot->tts_tid);
		row->room = (uint16) Min(MAXALIGN(tuple->t_len) + sizeof(ItemIdData), PG_UINT16_MAX);
		if (should_free)
			heap_freetuple(tuple);

		if (row->block < c->nblocks)
		{
			uint32	   *page_owner = &c->page_owner[row->block];

			if (*page_owner == NO_OWNER)
				*page_owner = row->owner;
			else if (*page_owner != row->owner)
				*page_owner = MIXED_PAGE;
		}
	}
	table_endscan(scan);
	ExecClearTuple(c->slot);
	hash_destroy(owners);
}

static int
row_ref_cmp(const void *a, const void *b)
{
	const RowRef *x = (const RowRef *) a;
	const RowRef *y = (const RowRef *) b;

	if (x->owner != y->owner)
		return x->owner < y->owner ? -1 : 1;
	if (x->block != y->block)
		return x->block < y->block ? -1 : 1;
	return (int) x->offset - (int) y->offset;
}

/* fullest first */
static int
page_used_desc_cmp(const void *a, const void *b)
{
	const OwnerPage *x = *(OwnerPage *const *) a;
	const OwnerPage *y = *(OwnerPage *const *) b;

	if (x->used != y->used)
		return x->used > y->used ? -1 : 1;
	return x->block < y->block ? -1 : (x->block > y->block);
}

typedef enum MoveResult
{
	MOVE_DONE,
	MOVE_SKIPPED,				/* the row changed since the snapshot: left alone */
	MOVE_ELSEWHERE				/* heap put the copy on another page (a new one) */
} MoveResult;

/* Move one row to target */
static MoveResult
move_row(Compaction *c, const RowRef *row, BlockNumber target)
{
	const TableAmRoutine *heap = GetHeapamTableAmRoutine();
	ItemPointerData tid;
	TM_FailureData tmfd;
	List	   *recheck;
	BlockNumber landed;
	RowLength	length;
	int			items_left;
	int			options;
	BulkInsertStateData pins;

	CHECK_FOR_INTERRUPTS();
	ItemPointerSet(&tid, row->block, row->offset);
	if (!table_tuple_fetch_row_version(c->rel, &tid, c->snapshot, c->slot))
		return MOVE_SKIPPED;
	/*
	 * A copy with TOASTed values stores them anew, and can come out longer
	 * than the row (a value whose pointer an update kept comes back in if
	 * it fits): it is inserted with the free space map, which heap also
	 * uses for the values (see row_options()), if the target has room for
	 * the most it can take.
	 */
	options = HEAP_INSERT_SKIP_FSM;
	row_length(c->rel, c->slot, &length);
	if (length.toasts &&
		page_free_room(c, target, InvalidOffsetNumber, NULL, &items_left) >=
		MAXALIGN(length.max_len) + sizeof(ItemIdData) &&
		items_left > 0)
		options = 0;
	ExecMaterializeSlot(c->slot);

	/* delete first: a row someone changed since the snapshot stays put */
	if (heap->tuple_delete(c->rel, &tid, c->cid, c->snapshot, InvalidSnapshot,
						   true, &tmfd, false) != TM_Ok)
		return MOVE_SKIPPED;

	/*
	 * heap tries the target page first, which has the room planned for the
	 * copy; one that comes out longer goes to a new page, without the free
	 * space map (with it, the target has room: the table is locked against
	 * writes).  The target is pinned for heap, as inserts do it (see
	 * prepare_target() in kalamdb_am.c): the relation's target block would
	 * not survive an interrupt while TOASTed values are stored.
	 */
	KalamInitBulkInsertPins(&pins);
	pins.current_buf = ReadBuffer(c->rel, target);
	heap->tuple_insert(c->rel, c->slot, c->cid, options, &pins);
	ReleaseBulkInsertStatePin(&pins);
	landed = ItemPointerGetBlockNumber(&c->slot->tts_tid);
	if (c->result_rel->ri_NumIndices > 0)
	{
		/*
		 * A deferrable constraint's index may ask for a recheck at commit,
		 * which only the row's trigger queue could do: none is pending on
		 * the table (checked first), so the only candidate is the old
		 * version, deleted above, and a recheck would find nothing.
		 */
		recheck = KalamInsertIndexTuples(c->result_rel, c->slot, c->estate);
		if (recheck != NIL)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("cannot move a row of \"%s\" whose deferred constraint needs a recheck",
							RelationGetRelationName(c->rel))));
	}
	ResetPerTupleExprContext(c->estate);
	ExecClearTuple(c->slot);
	c->moved++;
	return landed == target ? MOVE_DONE : MOVE_ELSEWHERE;
}

/*
 * Where the owner's rows on source would go: each on the first of the open
 * pages (own pages with room, fullest first) that takes it.  False, with
 * nothing planned, if they do not all fit.
 */
static bool
plan_page(OwnerPage **open, int nopen, const OwnerPage *source, const RowRef *rows,
		  BlockNumber *targets, Size *taken, int *items)
{
	memset(taken, 0, nopen * sizeof(Size));
	memset(items, 0, nopen * sizeof(int));
	for (int r = 0; r < source->nrows; r++)
	{
		const RowRef *row = &rows[source->first_row + r];
		int			t;

		for (t = 0; t < nopen; t++)
		{
			if (open[t] != source && open[t]->free >= taken[t] + row->room &&
				open[t]->items_left > items[t])
			{
				taken[t] += row->room;
				items[t]++;
				targets[r] = open[t]->block;
				break;
			}
		}
		if (t == nopen)
			return false;
	}
	for (int t = 0; t < nopen; t++)
	{
		open[t]->free -= taken[t];
		open[t]->items_left -= items[t];
		open[t]->used += taken[t];
		open[t]->received |= (taken[t] > 0);
	}
	return true;
}

/* Keep the open pages that can still take a row of min_room, in order */
static int
close_full_pages(OwnerPage **open, int nopen, Size min_room)
{
	int			kept = 0;

	for (int t = 0; t < nopen; t++)
		if (!open[t]->emptied && open[t]->free >= min_room && open[t]->items_left > 0)
			open[kept++] = open[t];
	return kept;
}

/* The owner's rows rows[first .. first + n), sorted by block */
static void
compact_owner(Compaction *c, int64 first, int64 n)
{
	const RowRef *rows = &c->rows[first];
	OwnerPage  *pages;
	OwnerPage **by_fullness;
	OwnerPage **open;
	int			npages = 0;
	int			nopen = 0;
	Size		total = 0;
	Size		min_room = BLCKSZ;
	int			needed;
	int			holding;
	BlockNumber *targets;
	Size	   *taken;
	int		   *items;

	for (int64 i = 0; i < n; i++)
	{
		npages += (i == 0 || rows[i].block != rows[i - 1].block);
		total += rows[i].room;
		min_room = Min(min_room, rows[i].room);
	}
	needed = (int) ((total + c->page_room - 1) / c->page_room);
	if (npages <= needed)
		return;

	pages = palloc_extended(npages * sizeof(OwnerPage), MCXT_ALLOC_HUGE);
	npages = 0;
	for (int64 i = 0; i < n; i++)
	{
		if (i == 0 || rows[i].block != rows[i - 1].block)
		{
			OwnerPage  *p = &pages[npages++];

			p->block = rows[i].block;
			p->used = 0;
			p->first_row = (int) i;
			p->nrows = 0;
			p->own = (p->block < c->nblocks && c->page_owner[p->block] == rows[i].owner);
			p->emptied = false;
			p->received = false;
			p->items_left = 0;
			/* the page's look may find it shared after all */
			if (p->own)
				p->free = page_free_room(c, p->block, rows[i].offset, &p->own, &p->items_left);
			if (!p->own)
				p->free = 0;
		}
		pages[npages - 1].used += rows[i].room;
		pages[npages - 1].nrows++;
	}
	by_fullness = palloc_extended(npages * sizeof(OwnerPage *), MCXT_ALLOC_HUGE);
	for (int i = 0; i < npages; i++)
		by_fullness[i] = &pages[i];
	qsort(by_fullness, npages, sizeof(OwnerPage *), page_used_desc_cmp);
	open = palloc_extended(npages * sizeof(OwnerPage *), MCXT_ALLOC_HUGE);
	for (int i = 0; i < npages; i++)
		if (by_fullness[i]->own && by_fullness[i]->free >= min_room &&
			by_fullness[i]->items_left > 0)
			open[nopen++] = by_fullness[i];
	targets = palloc(MaxHeapTuplesPerPage * sizeof(BlockNumber));	/* a page's rows */
	taken = palloc_extended(npages * sizeof(Size), MCXT_ALLOC_HUGE);
	items = palloc_extended(npages * sizeof(int), MCXT_ALLOC_HUGE);

	/* empty the sparsest pages, one whole page at a time */
	holding = npages;
	for (int s = npages - 1; s >= 0 && holding > needed; s--)
	{
		OwnerPage  *source = by_fullness[s];
		bool		elsewhere = false;

		/* the rest are fuller, or took rows in */
		if (source->received ||
			!plan_page(open, nopen, source, rows, targets, taken, items))
			break;
		for (int r = 0; r < source->nrows; r++)
			elsewhere |= (move_row(c, &rows[source->first_row + r], targets[r]) ==
						  MOVE_ELSEWHERE);
		/* a copy that did not fit where planned: the plan no longer holds */
		if (elsewhere)
			break;
		source->emptied = true;
		holding--;
		nopen = close_full_pages(open, nopen, min_room);
	}
	pfree(items);
	pfree(taken);
	pfree(targets);
	pfree(open);
	pfree(by_fullness);
	pfree(pages);
}

/*
 * Relations whose rows this transaction moved, whose predicate locks are
 * moved to the relation once more just before it commits (readers went on
 * while rows moved), each with the subtransaction that moved them
 */
typedef struct Compacted
{
	Oid			relid;
	SubTransactionId subid;
} Compacted;

static List *compacted = NIL;
static bool callback_registered = false;

/* A subtransaction's moves go with it, or to its parent */
static void
compacted_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
						   SubTransactionId parentSubid, void *arg)
{
	ListCell   *lc;

	foreach(lc, compacted)
	{
		Compacted  *c = (Compacted *) lfirst(lc);

		if (c->subid != mySubid)
			continue;
		if (event == SUBXACT_EVENT_ABORT_SUB)
			compacted = foreach_delete_current(compacted, lc);
		else if (event == SUBXACT_EVENT_COMMIT_SUB)
			c->subid = parentSubid;
	}
}

static void
compacted_xact_callback(XactEvent event, void *arg)
{
	ListCell   *lc;

	switch (event)
	{
		case XACT_EVENT_PRE_PREPARE:
			/* readers would lock old versions until COMMIT PREPARED */
			if (compacted != NIL)
				ereport(ERROR,
						(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						 errmsg("cannot PREPARE a transaction that ran kalam.compact()")));
			break;
		case XACT_EVENT_PRE_COMMIT:
			{
				List	   *rels = NIL;
				ListCell   *rc;

				if (compacted == NIL)
					break;

				/*
				 * A publication of all tables, or of a table's schema,
				 * takes no lock on it: one made while the rows moved is
				 * seen only now
				 */
				AcceptInvalidationMessages();
				foreach(lc, compacted)
				{
					/* held in EXCLUSIVE mode; a relation dropped since is gone */
					Relation	rel = try_relation_open(((Compacted *) lfirst(lc))->relid, NoLock);

					if (rel == NULL)
						continue;
					if (kalam_relation_is_published(rel))
						ereport(ERROR,
								(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
								 errmsg("kalam.compact() does not move rows of \"%s\", which was published meanwhile",
										RelationGetRelationName(rel)),
								 errdetail("Subscribers would receive each move as a DELETE and an INSERT.")));
					rels = lappend(rels, rel);
				}

				/* SERIALIZABLE readers from now on fail (compaction_check_old_snapshot()) */
				owner_map_note_compaction(GetTopFullTransactionId());
				foreach(rc, rels)
				{
					Relation	rel = (Relation) lfirst(rc);

					/*
					 * With no reader left, none can lock an old version
					 * before the commit shows the moves; with readers,
					 * waiting for them could deadlock.  Those reading from
					 * now on fail (above).
					 */
					(void) ConditionalLockRelation(rel, AccessExclusiveLock);
					TransferPredicateLocksToHeapRelation(rel);
					relation_close(rel, NoLock);
				}
				list_free(rels);
			}
			break;
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PREPARE:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_PARALLEL_ABORT:
			/* the list lived in the transaction's memory */
			compacted = NIL;
			break;
		default:
			break;
	}
}

/*
 * A SERIALIZABLE transaction whose snapshot was taken before a compaction
 * committed reads the old versions of the rows it moved, afterwards too.
 * A write of a moved copy by another transaction can then go unseen both
 * ways: a predicate lock on an old version does not meet it, and what the
 * reader meets of the writer's work (a deleted copy, or none at all through
 * an index whose entries of the new version it does not visit) names the
 * compaction, not the writer.  Such a read fails, as SSI fails a
 * transaction it cannot place in a serial order.  Which table a compaction
 * moved is not kept: the read of any kalamdb table of the database fails
 * while one of its latest 128 compactions is unseen by the snapshot (or one
 * pushed out of those while some snapshot could still miss it is not older
 * than the snapshot's xmin).  Even a READ ONLY DEFERRABLE transaction's:
 * whether its snapshot was a safe one is not known here.
 *
 * The check comes with every tuple a scan returns, so the last answer is
 * kept for a snapshot of the same transaction and the same content until
 * another compaction is noted.
 */
#define CHECKED_XIP_MAX 64

typedef struct CheckedSnapshot
{
	LocalTransactionId lxid;
	uint64		noted;			/* compactions noted at the time */
	TransactionId xmin;
	TransactionId xmax;
	uint32		xcnt;
	TransactionId xip[CHECKED_XIP_MAX];
	bool		unseen;
} CheckedSnapshot;

static CheckedSnapshot checked = {InvalidLocalTransactionId};

static bool
same_snapshot_checked(Snapshot snapshot, uint64 noted)
{
	return checked.lxid == MyProc->lxid && checked.noted == noted &&
		checked.xmin == snapshot->xmin && checked.xmax == snapshot->xmax &&
		checked.xcnt == snapshot->xcnt && snapshot->xcnt <= CHECKED_XIP_MAX &&
		memcmp(checked.xip, snapshot->xip, snapshot->xcnt * sizeof(TransactionId)) == 0;
}

void
compaction_check_old_snapshot(Relation rel, Snapshot snapshot)
{
	FullTransactionId latest;
	uint64		noted;
	bool		unseen;

	if (!IsolationIsSerializable() || snapshot == NULL || !IsMVCCSnapshot(snapshot))
		return;
	latest = owner_map_latest_compaction(&noted);
	/* (an xid more than 2^31 older looks newer: the full check then) */
	if (!FullTransactionIdIsValid(latest) ||
		TransactionIdPrecedes(XidFromFullTransactionId(latest), snapshot->xmin))
		return;
	if (same_snapshot_checked(snapshot, noted))
		unseen = checked.unseen;
	else
	{
		FullTransactionId next = ReadNextFullTransactionId();
		uint32		epoch = EpochFromFullTransactionId(next);
		FullTransactionId xids[OWNER_MAP_RECENT_COMPACTIONS];
		FullTransactionId forgotten;
		int			n;

		/* the snapshot's xmin, in the epoch it belongs to */
		if (snapshot->xmin > XidFromFullTransactionId(next) && epoch > 0)
			epoch--;
		n = owner_map_recent_compactions(FullTransactionIdFromEpochAndXid(epoch, snapshot->xmin),
										 xids, &forgotten);
		unseen = FullTransactionIdIsValid(forgotten);
		for (int i = 0; i < n && !unseen; i++)
			unseen = XidInMVCCSnapshot(XidFromFullTransactionId(xids[i]), snapshot);
		if (snapshot->xcnt <= CHECKED_XIP_MAX)
		{
			checked.lxid = MyProc->lxid;
			checked.noted = noted;
			checked.xmin = snapshot->xmin;
			checked.xmax = snapshot->xmax;
			checked.xcnt = snapshot->xcnt;
			memcpy(checked.xip, snapshot->xip, snapshot->xcnt * sizeof(TransactionId));
			checked.unseen = unseen;
		}
	}
	if (unseen)
		ereport(ERROR,
				(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
				 errmsg("could not serialize access to \"%s\" due to a concurrent compaction",
						RelationGetRelationName(rel)),
				 errdetail("kalam.compact() moved rows of a table after this transaction's snapshot was taken."),
				 errhint("The transaction might succeed if retried.")));
}

/* Rows of rel moved: its predicate locks are moved to it again at commit */
static void
transfer_predicate_locks_at_commit(Relation rel)
{
	MemoryContext old;
	Compacted  *c;

	if (!callback_registered)
	{
		RegisterXactCallback(compacted_xact_callback, NULL);
		RegisterSubXactCallback(compacted_subxact_callback, NULL);
		callback_registered = true;
	}
	old = MemoryContextSwitchTo(TopTransactionContext);
	c = palloc(sizeof(Compacted));
	c->relid = RelationGetRelid(rel);
	c->subid = GetCurrentSubTransactionId();
	compacted = lappend(compacted, c);
	MemoryContextSwitchTo(old);
}

PG_FUNCTION_INFO_V1(kalam_compact);
Datum
kalam_compact(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	MemoryContext cxt;
	MemoryContext old;
	Compaction	c;
	Relation	rel;
	Oid			save_userid;
	int			save_sec_context;
	int			save_nestlevel;

	PreventCommandIfReadOnly("kalam.compact()");
	PreventCommandIfParallelMode("kalam.compact()");

	if (IsolationUsesXactSnapshot())
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("kalam.compact() cannot run in a REPEATABLE READ or SERIALIZABLE transaction"),
				 errdetail("It reads the table with a snapshot taken once it holds its lock, "
						   "which only READ COMMITTED gives.")));

	/* the owner only, checked before the lock too: a lock queued is felt */
	if (!KalamRelationOwnerCheck(relid, GetUserId()))
		aclcheck_error(ACLCHECK_NOT_OWNER, get_relkind_objtype(get_rel_relkind(relid)),
					   get_rel_name(relid));
	rel = try_relation_open(relid, ExclusiveLock);
	if (rel == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));
	if (!KalamRelationOwnerCheck(relid, GetUserId()))
		aclcheck_error(ACLCHECK_NOT_OWNER, get_relkind_objtype(rel->rd_rel->relkind),
					   RelationGetRelationName(rel));
	if (rel->rd_rel->relkind != RELKIND_RELATION || !kalamdb_relation(rel) ||
		kalam_rel_cache(rel)->owner_attno == 0)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not a kalamdb table with an owner column",
						RelationGetRelationName(rel)),
				 errdetail("kalam.compact() gathers each owner's rows of a table USING kalamdb "
						   "whose first kalam.user_id column names the owner; temporary "
						   "tables have none.")));

	/* open cursors of this session, pending deferred checks (as TRUNCATE) */
	CheckTableNotInUse(rel, "compact");

	/*
	 * A publication would send the moves to subscribers as changes, and one
	 * that publishes inserts but not deletes (or filters them otherwise)
	 * would make them duplicates.
	 */
	if (kalam_relation_is_published(rel))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("kalam.compact() does not move rows of \"%s\", which is published",
						RelationGetRelationName(rel)),
				 errdetail("Subscribers would receive each move as a DELETE and an INSERT.")));

	/* a SERIALIZABLE reader's locks on rows about to move (see above) */
	TransferPredicateLocksToHeapRelation(rel);

	/*
	 * Index expressions run as the table's owner, in a security-restricted
	 * operation, as in CLUSTER: a superuser (the kalamdb worker's compact
	 * job) must not run them with its own rights.
	 */
	GetUserIdAndSecContext(&save_userid, &save_sec_context);
	SetUserIdAndSecContext(rel->rd_rel->relowner,
						   save_sec_context | SECURITY_RESTRICTED_OPERATION);
	save_nestlevel = NewGUCNestLevel();
	(void) set_config_option("search_path", "pg_catalog, pg_temp",
							 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE,
							 true, 0, false);

	cxt = AllocSetContextCreate(CurrentMemoryContext, "kalamdb compaction",
								ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(cxt);

	memset(&c, 0, sizeof(c));
	c.rel = rel;
	/* READ COMMITTED: a snapshot taken now sees every row (writers wait) */
	c.snapshot = RegisterSnapshot(GetTransactionSnapshot());
	c.cid = GetCurrentCommandId(true);
	c.reserve = RelationGetTargetPageFreeSpace(rel, HEAP_DEFAULT_FILLFACTOR);
	c.page_room = BLCKSZ - SizeOfPageHeaderData - c.reserve;
	c.slot = table_slot_create(rel, NULL);
	/* copies with TOASTed values store them anew: their page stays heap's target */
	kalam_lock_toast_relation(rel, NULL);
	c.estate = CreateExecutorState();
	c.result_rel = makeNode(ResultRelInfo);
	InitResultRelInfo(c.result_rel, rel, 1, NULL, 0);
	ExecOpenIndices(c.result_rel, false);

	collect_rows(&c);
	qsort(c.rows, c.nrows, sizeof(RowRef), row_ref_cmp);
	for (int64 first = 0, i = 1; i <= c.nrows; i++)
	{
		if (i == c.nrows || c.rows[i].owner != c.rows[first].owner)
		{
			CHECK_FOR_INTERRUPTS();
			compact_owner(&c, first, i - first);
			first = i;
		}
	}

	/* the owner map's room and pages no longer hold: start over */
	if (c.moved > 0)
	{
		owner_map_forget_relation(&KalamRelStorageOf(rel));
		transfer_predicate_locks_at_commit(rel);
	}

	ExecCloseIndices(c.result_rel);
	FreeExecutorState(c.estate);
	ExecDropSingleTupleTableSlot(c.slot);
	UnregisterSnapshot(c.snapshot);
	MemoryContextSwitchTo(old);
	MemoryContextDelete(cxt);

	/* on error, transaction abort undoes both */
	AtEOXact_GUC(false, save_nestlevel);
	SetUserIdAndSecContext(save_userid, save_sec_context);
	table_close(rel, NoLock);
	PG_RETURN_INT64(c.moved);
}
