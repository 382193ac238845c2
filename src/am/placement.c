/*-------------------------------------------------------------------------
 *
 * placement.c
 *	  Where the kalamdb access method puts a row: a page of its owner.
 *
 * Heap decides nothing here: every insert names its target page
 * (RelationSetTargetBlock) and skips the free space map, so heap either
 * uses that page or, when it is full after all, extends the relation by a
 * fresh page, which then belongs to this owner alone.
 *
 * The policy, for a row of owner O:
 *
 *  - O's page from the owner map, if it still has room.  An own page must
 *    still be O's (its first row is O's, or it is empty and O claims it):
 *    VACUUM may have emptied it and someone else may have taken it.
 *  - Not in the map (new owner, evicted entry, restart): the owner index
 *    (an index led by the owner column) gives O's last page.
 *  - A new owner starts on a page shared with other new owners, the
 *    "admission" page, which takes in only as many owners as it has room
 *    for kalam.small_owner_rows rows each.  Owners with a handful of rows
 *    thus share pages instead of wasting one each.  An owner keeps at most
 *    that many rows on shared pages; a batch of more rows (COPY of one
 *    owner's rows) goes to a page of its own at once.
 *  - When O's page is full, O gets a page of its own: first one of its own
 *    pages where VACUUM freed room (looked up once per VACUUM through the
 *    owner index), then an empty page from the free space map, claimed
 *    under a lock so that two owners never take the same one, and else a
 *    new page at the end of the relation.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/relscan.h"
#include "access/stratnum.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "storage/freespace.h"
#include "storage/lmgr.h"
#include "storage/lock.h"
#include "storage/smgr.h"
#include "utils/guc.h"
#include "utils/snapmgr.h"

#include "am/am_compat.h"
#include "am/owner_map.h"
#include "am/owner_page_cache.h"
#include "am/placement.h"
#include "am/rel_cache.h"
#include "keys/key_kind.h"

/*
 * Claims of empty pages are heavyweight locks (visible in pg_locks, seen
 * by the deadlock detector, cancellable), in the advisory lock space with
 * a fourth field of their own: pg_advisory_lock() uses 1 and 2.
 */
#define CLAIM_LOCK_FIELD4	0x4B41

/* a page with at least this much free space counts as empty in the FSM */
#define EMPTY_PAGE_SPACE	(BLCKSZ - SizeOfPageHeaderData - 64)

/* Room on a page we only know to be new or empty */
#define EMPTY_PAGE_ROOM (BLCKSZ - SizeOfPageHeaderData)

/*
 * Room a bulk insert takes on an owner's page at a time, for the owner's
 * next rows (owner_page_cache.c): a quarter page, a dozen rows of 150
 * bytes.  Concurrent bulk inserts of one owner share its page this way,
 * each taking its share, where a lease of the whole page would give each
 * a page of its own.
 */
#define BULK_LEASE_BYTES	(BLCKSZ / 4)

/* at most this many index entries are read to find an owner's pages */
#define MAX_OWNER_ENTRIES	20000

int			kalam_small_owner_rows = 5;

void
placement_define_gucs(void)
{
	DefineCustomIntVariable("kalam.small_owner_rows",
							"Rows a new owner may keep on a page shared with other new owners.",
							"A new owner's first rows go to a shared page with room for this "
							"many of them; once that page is full, it gets pages of its own. "
							"0: every owner gets pages of its own from the first row.",
							&kalam_small_owner_rows,
							5, 0, 1000,
							PGC_SIGHUP,
							0,
							NULL, NULL, NULL);
}

/* How far to look at a page's tuples */
typedef enum InspectDepth
{
	INSPECT_FIRST,				/* the first tuple */
	INSPECT_UNTIL_MINE,			/* up to the first of the owner's */
	INSPECT_ALL					/* every tuple */
} InspectDepth;

/* What we learn from looking at a page */
typedef struct PageInfo
{
	Size		free;			/* PageGetHeapFreeSpace() */
	bool		empty;			/* no line pointer in use: pruning leaves
								 * those of deleted rows dead, which only
								 * a VACUUM frees */
	bool		first_mine;		/* the first tuple is the owner's */
	bool		any_mine;		/* beyond INSPECT_FIRST: some tuple is the
								 * owner's */
	bool		all_mine;		/* with INSPECT_ALL: every tuple is */
} PageInfo;

bool
placement_tuple_owner(Relation rel, AttrNumber attno, Page page, OffsetNumber off, char *buf,
					  int *owner_len)
{
	ItemId		item = PageGetItemId(page, off);
	HeapTupleData tuple;
	Datum		value;
	bool		isnull;

	tuple.t_data = (HeapTupleHeader) PageGetItem(page, item);
	tuple.t_len = ItemIdGetLength(item);
	tuple.t_tableOid = RelationGetRelid(rel);
	value = heap_getattr(&tuple, attno, RelationGetDescr(rel), &isnull);
	/* not fetched from TOAST under the page's lock */
	if (!isnull && VARATT_IS_EXTERNAL(DatumGetPointer(value)))
		return false;
	return kalam_datum_owner(value, isnull, buf, owner_len);
}

bool
placement_tuple_is_owners(Relation rel, AttrNumber attno, Page page, OffsetNumber off,
						  const char *owner, int owner_len)
{
	char		found[USER_ID_MAX_LEN];
	int			found_len;

	return placement_tuple_owner(rel, attno, page, off, found, &found_len) &&
		found_len == owner_len && memcmp(found, owner, owner_len) == 0;
}

bool
placement_page_is_one_owners(Relation rel, Page page, OffsetNumber known)
{
	AttrNumber	attno = kalam_rel_cache(rel)->owner_attno;
	char		owner[USER_ID_MAX_LEN];
	int			owner_len;
	OffsetNumber maxoff = PageGetMaxOffsetNumber(page);

	if (known > maxoff || !ItemIdIsNormal(PageGetItemId(page, known)) ||
		!placement_tuple_owner(rel, attno, page, known, owner, &owner_len))
		return false;
	for (OffsetNumber off = FirstOffsetNumber; off <= maxoff; off++)
		if (ItemIdIsNormal(PageGetItemId(page, off)) &&
			!placement_tuple_is_owners(rel, attno, page, off, owner, owner_len))
			return false;
	return true;
}

/* Room for a row on a page: heap's test, a new page being initialized on use */
static inline Size
page_room(Page page)
{
	if (PageIsNew(page))
		return BLCKSZ - SizeOfPageHeaderData - sizeof(ItemIdData);
	return PageGetHeapFreeSpace(page);
}

/* inspect_page() of a page the caller has locked */
static void
inspect_locked_page(Relation rel, AttrNumber attno, Page page, const char *owner,
					int owner_len, InspectDepth depth, PageInfo *info)
{
	bool		seen = false;	/* a row */
	bool		used = false;	/* a line pointer in use */

	memset(info, 0, sizeof(PageInfo));
	info->all_mine = true;
	info->free = page_room(page);
	if (!PageIsNew(page))
	{
		OffsetNumber maxoff = PageGetMaxOffsetNumber(page);

		for (OffsetNumber off = FirstOffsetNumber; off <= maxoff; off++)
		{
			ItemId		item = PageGetItemId(page, off);
			bool		mine;

			used |= ItemIdIsUsed(item);
			if (!ItemIdIsNormal(item))
				continue;
			mine = placement_tuple_is_owners(rel, attno, page, off, owner, owner_len);
			if (!seen)
				info->first_mine = mine;
			seen = true;
			info->any_mine |= mine;
			info->all_mine &= mine;
			if (depth == INSPECT_FIRST || (depth == INSPECT_UNTIL_MINE && mine))
				break;
		}
	}
	/*
	 * A page whose rows a read pruned to dead line pointers is not empty:
	 * whose it was no longer shows, and taken as empty it could go to
	 * another owner while its own owner's inserts still have it as theirs
	 * (no VACUUM ran, placement_recheck() does not look).
	 */
	info->empty = !used;
	if (!seen)
		info->all_mine = false;
}

static void
inspect_page(Relation rel, BlockNumber block, const char *owner, int owner_len,
			 InspectDepth depth, PageInfo *info)
{
	AttrNumber	attno = kalam_rel_cache(rel)->owner_attno;	/* no I/O before */
	Buffer		buffer = ReadBufferExtended(rel, MAIN_FORKNUM, block, RBM_NORMAL, NULL);

	LockBuffer(buffer, BUFFER_LOCK_SHARE);
	inspect_locked_page(rel, attno, BufferGetPage(buffer), owner, owner_len, depth, info);
	UnlockReleaseBuffer(buffer);
}

/* heap's own test of "enough room" (hio.c), fillfactor included */
static Size
space_needed(Relation rel, Size len)
{
	Size		save = RelationGetTargetPageFreeSpace(rel, HEAP_DEFAULT_FILLFACTOR);
	Size		nearly_empty = MaxHeapTupleSize - (MaxHeapTuplesPerPage / 8 * sizeof(ItemIdData));

	len = MAXALIGN(len);
	if (len + save > nearly_empty)
		return Max(len, nearly_empty);
	return len + save;
}

/*
 * Claims: an empty page being taken by an owner is claimed under a lock
 * held until its row is on it (placement_finish()).  A claim is never
 * waited for: a page someone else is taking is not empty for anyone else,
 * and an update may hold a claim while heap waits for a row lock.  A row
 * on a long way to its page holds the page in share mode
 * (placement_hold_target()), which keeps anyone from claiming it.
 */
static bool
take_claim(Relation rel, BlockNumber block, Placement *p)
{
	LOCKTAG		tag;

	Assert(!p->claimed);
	SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, RelationGetRelid(rel), block, CLAIM_LOCK_FIELD4);
	if (LockAcquire(&tag, ExclusiveLock, false, true) == LOCKACQUIRE_NOT_AVAIL)
		return false;
	p->claim_tag = tag;
	p->claimed = true;
	return true;
}

/* A hold of the target (placement_hold_target()) ends */
static void
release_hold(Placement *p)
{
	if (p->held)
	{
		LockRelease(&p->claim_tag, ShareLock, false);
		p->held = false;
	}
}

static void
release_claim(Placement *p)
{
	if (p->claimed)
	{
		LockRelease(&p->claim_tag, ExclusiveLock, false);
		p->claimed = false;
	}
	release_hold(p);
}

/*
 * A fresh page at the end of the relation; heap initializes it on use.
 * It is claimed before its buffer lock goes, before a VACUUM can look at
 * it: until the row is on it (heap TOASTs the row's values first, an
 * update may wait for its row lock), the page is all zeroes, which a
 * VACUUM enters in the free space map as empty, for another owner to take.
 */
static BlockNumber
extend_by_one_page(Relation rel, Placement *p)
{
	bool		need_lock = !RELATION_IS_LOCAL(rel);
	Buffer		buffer;
	BlockNumber block;

	if (need_lock)
		LockRelationForExtension(rel, ExclusiveLock);
	buffer = ReadBufferExtended(rel, MAIN_FORKNUM, P_NEW, RBM_ZERO_AND_LOCK, NULL);
	block = BufferGetBlockNumber(buffer);
	/* no other lock may be taken under the extension lock; VACUUM needs the page's */
	if (need_lock)
		UnlockRelationForExtension(rel, ExclusiveLock);
	(void) take_claim(rel, block, p);
	UnlockReleaseBuffer(buffer);
	return block;
}

/*
 * Take an empty page: re-check under its claim that it is still empty,
 * and keep the claim until the row is on it.  The free space map stops
 * offering it as empty at once: the owner map names it as the owner's
 * from now on, even if the statement fails before the row is on it
 * (*was_empty: it was empty, not already the owner's).  False if it is
 * not empty, or being taken by someone else.
 */
static bool
claim_if_empty(Relation rel, BlockNumber block, const char *owner, int owner_len,
			   Placement *p, bool *was_empty)
{
	AttrNumber	attno = kalam_rel_cache(rel)->owner_attno;	/* no I/O before */
	Buffer		buffer;
	bool		unpinned;
	PageInfo	info;

	if (!take_claim(rel, block, p))
		return false;

	/*
	 * An empty page is taken only while no one else has it pinned: an
	 * insert that chose the page before a VACUUM emptied it pins it before
	 * heap puts the row there, and then looks again (placement_recheck()).
	 */
	buffer = ReadBufferExtended(rel, MAIN_FORKNUM, block, RBM_NORMAL, NULL);
	unpinned = ConditionalLockBufferForCleanup(buffer);
	if (!unpinned)
		LockBuffer(buffer, BUFFER_LOCK_SHARE);
	inspect_locked_page(rel, attno, BufferGetPage(buffer), owner, owner_len, INSPECT_FIRST, &info);
	UnlockReleaseBuffer(buffer);
	if ((info.empty && unpinned) || info.first_mine)
	{
		*was_empty = info.empty;
		RecordPageWithFreeSpace(rel, block, BLCKSZ / 2);
		return true;
	}
	release_claim(p);
	/* an empty page pinned now is left for later */
	if (!info.empty)
		RecordPageWithFreeSpace(rel, block, info.free);
	return false;
}

/*
 * Give an empty page we took but did not use to whoever needs one next:
 * the free space map finds it only once its upper levels know it too.
 */
static void
offer_empty_page(Relation rel, BlockNumber block)
{
	RecordPageWithFreeSpace(rel, block, EMPTY_PAGE_ROOM);
	FreeSpaceMapVacuumRange(rel, block, block + 1);
}

/* The relation's size in *nblocks, looked up only once (InvalidBlockNumber: not yet) */
static BlockNumber
known_size(Relation rel, BlockNumber *nblocks)
{
	if (!BlockNumberIsValid(*nblocks))
		*nblocks = RelationGetNumberOfBlocks(rel);
	return *nblocks;
}

/*
 * An empty page: from the free space map if it knows one, else a new one
 * (*is_empty: false if the map offered a page that turned out to be the
 * owner's already).  nblocks: the relation's size, if known.
 */
static BlockNumber
empty_page(Relation rel, const char *owner, int owner_len, BlockNumber nblocks,
		   Placement *p, bool *is_empty)
{
	bool		no_map = false;
	BlockNumber block;

	for (int attempt = 0; attempt < 4; attempt++)
	{
		block = GetPageWithFreeSpace(rel, EMPTY_PAGE_SPACE);
		if (!BlockNumberIsValid(block))
		{
			/* the map's fork does not exist (or is empty): see below */
			no_map = RelationGetSmgr(rel)->smgr_cached_nblocks[FSM_FORKNUM] == 0;
			break;
		}
		if (block >= known_size(rel, &nblocks))
			break;
		if (claim_if_empty(rel, block, owner, owner_len, p, is_empty))
			return block;
	}
	*is_empty = true;
	block = extend_by_one_page(rel, p);

	/*
	 * Without its fork, every search of the free space map looks for the
	 * fork's file, a system call with each page taken; heap creates the
	 * fork once its first page is full.  Here it is created with a page
	 * recorded as holding no room, which it does for anyone else.
	 */
	if (no_map)
		RecordPageWithFreeSpace(rel, block, 0);
	return block;
}

/*
 * The owner's pages, from the owner index: the last one, how many rows
 * (index entries, dead ones included), and the distinct blocks in
 * ascending order.  False if there is no owner index.
 */
static bool
owner_pages(Relation rel, const char *owner, int owner_len, BlockNumber *last,
			int64 *rows, BlockNumber *blocks, int max_blocks, int *nblocks)
{
	Oid			index_oid = kalam_owner_index(rel);
	Oid			eq_proc;
	Relation	index;
	IndexScanDesc scan;
	ScanKeyData key;
	struct varlena *value;
	ItemPointer tid;

	*last = InvalidBlockNumber;
	*rows = 0;
	*nblocks = 0;
	if (!OidIsValid(index_oid))
		return false;
	/* read now: opening the index may rebuild the relcache entry */
	eq_proc = kalam_rel_cache(rel)->owner_eq_proc;

	value = (struct varlena *) palloc(VARHDRSZ + owner_len);
	SET_VARSIZE(value, VARHDRSZ + owner_len);
	memcpy(VARDATA(value), owner, owner_len);

	index = index_open(index_oid, AccessShareLock);
	ScanKeyInit(&key, 1, BTEqualStrategyNumber, eq_proc, PointerGetDatum(value));
	scan = index_beginscan(rel, index, SnapshotAny, 1, 0);
	index_rescan(scan, &key, 1, NULL, 0);
	while ((tid = index_getnext_tid(scan, ForwardScanDirection)) != NULL)
	{
		BlockNumber block = ItemPointerGetBlockNumber(tid);

		if (!BlockNumberIsValid(*last) || block > *last)
			*last = block;
		if (blocks && *nblocks < max_blocks &&
			(*nblocks == 0 || blocks[*nblocks - 1] != block))
			blocks[(*nblocks)++] = block;
		if (++(*rows) >= MAX_OWNER_ENTRIES)
			break;
	}
	index_endscan(scan);
	index_close(index, AccessShareLock);
	pfree(value);
	return true;
}

static void
set_target(Relation rel, Placement *p, BlockNumber block, bool shared)
{
	p->block = block;
	p->shared = shared;
	RelationSetTargetBlock(rel, block);
}

/*
 * Whether a hint was validated since the last VACUUM anywhere, in a
 * relation no VACUUM is running on: its page still exists (only VACUUM
 * shrinks a relation, and new storage makes the map forget it), and an own
 * page is still the owner's (only a VACUUM can empty it for another).
 */
static inline bool
hint_is_current(const KalamRelStorage *storage, const OwnerHint *hint, uint32 generation)
{
	return hint->seen_generation == generation &&
		!owner_map_relation_being_vacuumed(storage);
}

/* A hint validated now */
static void
hint_seen(OwnerHint *hint, uint32 generation, uint32 relation_generation)
{
	hint->seen_generation = generation;
	hint->seen_relation_generation = relation_generation;
}

/* Room on a page after consume bytes, as the estimate keeps it */
static uint16
room_after(Size free, Size consume)
{
	return (uint16) (free > consume ? free - consume : 0);
}

/* Room nrows rows of len bytes take on a page, line pointers included */
static inline Size
rows_room(Size len, int nrows)
{
	return nrows * (MAXALIGN(len) + sizeof(ItemIdData));
}

/*
 * Put nrows more rows of the owner on its shared page hint->block, if the
 * owner stays within kalam.small_owner_rows there (counted in the map: see
 * owner_map_put_shared()).
 */
static bool
stay_on_shared_page(Relation rel, const char *owner, int owner_len, const OwnerHint *hint,
					int nrows, Placement *p)
{
	KalamRelStorage storage = KalamRelStorageOf(rel);

	if (!owner_map_put_shared(&storage, owner, owner_len, hint, nrows, kalam_small_owner_rows))
		return false;
	set_target(rel, p, hint->block, true);
	return true;
}

/*
 * The owner's current page is full (or no longer its own): first a page of
 * the owner's where VACUUM freed room, else an empty page of its own.
 */
static void
move_to_own_page(Relation rel, const char *owner, int owner_len, Size need,
				 Size consume, OwnerHint *hint, BlockNumber nblocks,
				 Placement *p)
{
	KalamRelStorage storage = KalamRelStorageOf(rel);
	BlockNumber block = InvalidBlockNumber;
	Size		free = EMPTY_PAGE_ROOM;
	bool		is_empty = false;

	if (hint->may_reuse)
	{
		BlockNumber blocks[64];
		int			nfound;
		BlockNumber last;
		int64		rows;

		if (owner_pages(rel, owner, owner_len, &last, &rows, blocks, lengthof(blocks), &nfound))
		{
			RelationHint rel_hint;

			owner_map_get_relation(&storage, &rel_hint);
			for (int i = nfound - 1; i >= 0 && !BlockNumberIsValid(block); i--)
			{
				PageInfo	info;

				if (blocks[i] == hint->block || blocks[i] >= known_size(rel, &nblocks) ||
					GetRecordedFreeSpace(rel, blocks[i]) < need ||
					owner_map_is_open_admission(&rel_hint, blocks[i]))
					continue;
				/* every row the owner's: not a shared page it opened */
				inspect_page(rel, blocks[i], owner, owner_len, INSPECT_ALL, &info);
				if (info.all_mine && info.free >= need)
				{
					block = blocks[i];
					free = info.free;
				}
				else
					RecordPageWithFreeSpace(rel, blocks[i], info.free);
			}
		}
		/* none left: no need to look again until the next VACUUM */
		hint->may_reuse = BlockNumberIsValid(block);
	}

	if (!BlockNumberIsValid(block))
		block = empty_page(rel, owner, owner_len, nblocks, p, &is_empty);

	{
		BlockNumber old_block = hint->block;
		OwnerHint	current;

		hint->block = block;
		hint->kind = HINT_OWN;
		hint->free_estimate = room_after(free, consume);
		for (int attempt = 0;
			 !owner_map_replace(&storage, owner, owner_len, old_block, hint, &current);
			 attempt++)
		{
			/*
			 * Another session of this owner moved it to a page of its own
			 * while we chose ours: go there too, and leave ours, if it is
			 * empty, to the free space map for whoever needs a page next
			 * (before the claim goes: no one can have used it yet).  If it
			 * put the owner on a shared page instead, ours is still wanted
			 * (after a few such turns, ours is used without the map).
			 */
			if (current.kind == HINT_OWN)
			{
				if (is_empty)
					offer_empty_page(rel, block);
				release_claim(p);
				block = current.block;
				break;
			}
			if (attempt == 3)
				break;
			old_block = current.block;
		}
	}
	set_target(rel, p, block, false);
}

/*
 * A new owner (or one whose rows on its shared page are gone): a shared
 * page.  expected_block is the owner's page in the map (InvalidBlockNumber
 * for a new owner); if the map says otherwise by now, another session got
 * there first.
 */
static void
admit(Relation rel, const char *owner, int owner_len, Size len, Size need, int nrows,
	  BlockNumber nblocks, BlockNumber expected_block,
	  OwnerHint *hint, Placement *p)
{
	KalamRelStorage storage = KalamRelStorageOf(rel);
	BlockNumber block = owner_map_admit(&storage);
	OwnerHint	current;

	hint->kind = HINT_SHARED;
	hint->shared_rows = nrows;
	hint->free_estimate = 0;	/* shared pages are always looked at */

	if (BlockNumberIsValid(block) && block < known_size(rel, &nblocks))
	{
		PageInfo	info;

		inspect_page(rel, block, owner, owner_len, INSPECT_FIRST, &info);
		if (info.free < need)
			block = InvalidBlockNumber;
	}
	else
		block = InvalidBlockNumber;

	if (!BlockNumberIsValid(block))
	{
		Size		usable = BLCKSZ - SizeOfPageHeaderData;
		Size		per_owner = rows_room(len, Max(1, kalam_small_owner_rows));
		bool		is_empty;

		block = empty_page(rel, owner, owner_len, nblocks, p, &is_empty);
		owner_map_open_admission(&storage, block,
								 (uint16) Min(Max(usable / per_owner, 1), PG_UINT16_MAX));
	}

	hint->block = block;
	if (!owner_map_replace(&storage, owner, owner_len, expected_block, hint, &current))
	{
		/*
		 * Another session admitted this owner meanwhile: join it there, so
		 * that the owner's first rows do not start out on two pages.  Ours
		 * stays the admission page (its claim took it off the FSM's list).
		 */
		release_claim(p);
		if (current.kind == HINT_SHARED)
		{
			/* unless its quota there is full already: a page of its own */
			if (!stay_on_shared_page(rel, owner, owner_len, &current, nrows, p))
				move_to_own_page(rel, owner, owner_len, need,
								 rows_room(len, nrows), &current, nblocks, p);
			return;
		}
		owner_map_put(&storage, owner, owner_len, &current);
		*hint = current;
	}
	set_target(rel, p, hint->block, hint->kind == HINT_SHARED);
}

void
placement_begin(Relation rel, const char *owner, int owner_len, Size len, Size max_len,
				int nrows, bool bulk, Placement *p)
{
	KalamRelStorage storage = KalamRelStorageOf(rel);
	uint32		generation = owner_map_vacuum_generation();
	Size		need = space_needed(rel, Max(len, max_len));
	/* the first row is booked at the most it can take */
	Size		consume = rows_room(Max(len, max_len), 1) + rows_room(len, nrows - 1);
	RelationHint rel_hint;
	BlockNumber nblocks;
	OwnerHint	hint;
	bool		found;
	Size		taken;
	PageInfo	info;
	BlockNumber last;
	int64		rows;
	int			nfound;

	p->block = InvalidBlockNumber;
	p->shared = false;
	p->claimed = false;
	p->held = false;
	p->taken_empty = false;
	p->bulk = bulk;
	p->recent_buffer = InvalidBuffer;
	p->need = need;
	p->free_estimate = -1;
	p->generation = generation;
	p->may_use_fsm = false;

	/* A bulk insert's owner page in this backend: see owner_page_cache.c */
	if (bulk)
	{
		CachedOwnerPage page;

		p->storage_epoch = owner_map_storage_epoch();
		/*
		 * The lease is room for rows: the fillfactor's reserve is left to
		 * prepare_target()'s look at the page, and to heap.
		 */
		if (owner_page_cache_take(&storage, owner, owner_len, generation, p->storage_epoch,
								  consume, consume, &page))
		{
			set_target(rel, p, page.block, false);
			p->recent_buffer = page.buffer;
			p->free_estimate = page.free_estimate;
			return;
		}
	}

	/*
	 * The common case: the owner's own page, validated since the last
	 * VACUUM anywhere (so it is still the owner's), with room left by the
	 * map's own count.  No page is read here.  A bulk insert takes a lease
	 * on more room than this row needs, for its next rows of the owner to
	 * use through the cache: other sessions' rows of the owner see the
	 * room as taken and use the page only up to what is left.
	 */
	if (owner_map_reserve(&storage, owner, owner_len, generation, need,
						  bulk ? Max(consume, BULK_LEASE_BYTES) : consume, &hint, &found, &taken))
	{
		set_target(rel, p, hint.block, false);
		p->recent_buffer = hint.recent_buffer;
		if (bulk)
			p->free_estimate = (int32) (taken - Min(consume, taken));
		return;
	}

	/*
	 * A current hint points at a page that still exists, of a relation not
	 * vacuumed since: its size and its map entry need not be read (a
	 * system call and a lock the relation's inserts all share).  Another
	 * hint may point past the end of the relation (truncated since); the
	 * size is read when a page is to be looked at, if at all.
	 */
	nblocks = InvalidBlockNumber;
	if (found && hint_is_current(&storage, &hint, generation))
		rel_hint.vacuum_generation = hint.seen_relation_generation;
	else
	{
		if (found)
			nblocks = RelationGetNumberOfBlocks(rel);
		owner_map_get_relation(&storage, &rel_hint);
	}

	if (found)
	{
		bool		shared = (hint.kind == HINT_SHARED);
		bool		over_quota = shared && hint.shared_rows + nrows > kalam_small_owner_rows;
		bool		vacuumed_since = (hint.seen_relation_generation != rel_hint.vacuum_generation);

		if (vacuumed_since)
			hint.may_reuse = true;
		hint_seen(&hint, generation, rel_hint.vacuum_generation);

		/* Look at the page: is it still the owner's, with room? */
		if ((!BlockNumberIsValid(nblocks) || hint.block < nblocks) && !over_quota)
		{
			/* a shared page: one of its rows must be the owner's */
			inspect_page(rel, hint.block, owner, owner_len,
						 shared ? INSPECT_UNTIL_MINE : INSPECT_FIRST, &info);
			if (info.empty)
			{
				/*
				 * Emptied by VACUUM: take it again, unless someone was
				 * quicker, or the owner still has rows on other pages of
				 * its own, where VACUUM may have freed room: filling those
				 * first keeps the owner on as few pages as its rows need.
				 */
				bool		was_empty;

				if (info.free >= need && (shared || !hint.may_reuse) &&
					claim_if_empty(rel, hint.block, owner, owner_len, p, &was_empty))
				{
					hint.free_estimate = shared ? 0 : room_after(info.free, consume);
					hint.shared_rows += shared ? nrows : 0;
					owner_map_put(&storage, owner, owner_len, &hint);
					set_target(rel, p, hint.block, shared);
					return;
				}
			}
			else if (info.free >= need && shared && info.any_mine)
			{
				if (stay_on_shared_page(rel, owner, owner_len, &hint, nrows, p))
					return;
				/* another session filled the owner's quota there meanwhile */
			}
			else if (info.free >= need && !shared && info.first_mine)
			{
				hint.free_estimate = room_after(info.free, consume);
				owner_map_put(&storage, owner, owner_len, &hint);
				set_target(rel, p, hint.block, false);
				return;
			}
			else if (shared && !info.any_mine)
			{
				/*
				 * None of its rows there: another session's are on their
				 * way (placed, not inserted yet), or they are gone (rolled
				 * back, vacuumed).  Unless the relation was vacuumed since
				 * (the page may be another owner's own by now), stay where
				 * there is room, counted with the others; else start over
				 * on the admission page, as a new owner.
				 */
				if (!vacuumed_since && info.free >= need)
				{
					if (stay_on_shared_page(rel, owner, owner_len, &hint, nrows, p))
						return;
				}
				else if (nrows <= kalam_small_owner_rows)
				{
					BlockNumber old_block = hint.block;

					memset(&hint, 0, sizeof(hint));
					hint_seen(&hint, generation, rel_hint.vacuum_generation);
					admit(rel, owner, owner_len, len, need, nrows, nblocks,
						  old_block, &hint, p);
					return;
				}
			}
		}
		move_to_own_page(rel, owner, owner_len, need, consume, &hint, nblocks, p);
		return;
	}

	memset(&hint, 0, sizeof(hint));
	hint_seen(&hint, generation, rel_hint.vacuum_generation);

	/*
	 * Not in the map: the owner index knows the owner's last page (unless
	 * the map knows that every owner of the relation is in it).
	 */
	if (!owner_map_is_complete(&rel_hint) &&
		owner_pages(rel, owner, owner_len, &last, &rows, NULL, 0, &nfound) &&
		BlockNumberIsValid(last) && last < known_size(rel, &nblocks))
	{
		bool		own;

		/*
		 * Every row the owner's: its own page, unless it is the open
		 * admission page, where the owner may just be the first
		 */
		inspect_page(rel, last, owner, owner_len, INSPECT_ALL, &info);
		own = info.all_mine && !owner_map_is_open_admission(&rel_hint, last);
		hint.block = last;
		hint.kind = own ? HINT_OWN : HINT_SHARED;
		hint.shared_rows = own ? 0 : Min(rows, PG_UINT16_MAX);
		hint.may_reuse = true;	/* who knows what VACUUM did before */
		if (info.any_mine)
		{
			if (info.free >= need && own)
			{
				hint.free_estimate = room_after(info.free, consume);
				owner_map_put(&storage, owner, owner_len, &hint);
				set_target(rel, p, last, false);
			}
			else if (info.free < need ||
					 !stay_on_shared_page(rel, owner, owner_len, &hint, nrows, p))
				move_to_own_page(rel, owner, owner_len, need, consume, &hint, nblocks,
								 p);
			return;
		}
	}

	/* A new owner: a shared page, unless it brings more rows than fit there. */
	if (nrows > kalam_small_owner_rows || kalam_small_owner_rows == 0)
	{
		hint.block = InvalidBlockNumber;
		move_to_own_page(rel, owner, owner_len, need, consume, &hint, nblocks, p);
		return;
	}
	admit(rel, owner, owner_len, len, need, nrows, nblocks,
		  InvalidBlockNumber, &hint, p);
}

bool
placement_recheck(Relation rel, const char *owner, int owner_len, const Placement *p,
				  Buffer buffer)
{
	KalamRelStorage storage = KalamRelStorageOf(rel);
	AttrNumber	attno;
	PageInfo	info;

	if (!BlockNumberIsValid(p->block) || p->claimed || p->held)
		return true;
	Assert(BufferIsValid(buffer) && BufferGetBlockNumber(buffer) == p->block);
	/* the caller's pin was taken before: see a VACUUM begun before it */
	pg_memory_barrier();
	if (owner_map_vacuum_generation() == p->generation &&
		!owner_map_relation_being_vacuumed(&storage))
		return true;
	attno = kalam_rel_cache(rel)->owner_attno;	/* no I/O under the lock */
	LockBuffer(buffer, BUFFER_LOCK_SHARE);
	inspect_locked_page(rel, attno, BufferGetPage(buffer), owner, owner_len,
						p->shared ? INSPECT_UNTIL_MINE : INSPECT_FIRST, &info);
	LockBuffer(buffer, BUFFER_LOCK_UNLOCK);
	if (!p->shared)
		return info.first_mine;
	/* as placement_hold_target() sees a shared page */
	if (info.any_mine)
		return true;
	if (info.empty)
		return false;
	{
		RelationHint rel_hint;

		owner_map_get_relation(&storage, &rel_hint);
		return owner_map_is_open_admission(&rel_hint, p->block);
	}
}

bool
placement_hold_target(Relation rel, const char *owner, int owner_len, Placement *p)
{
	PageInfo	info;
	bool		owners;

	if (!BlockNumberIsValid(p->block))
		return false;
	if (!p->claimed && !p->held)
	{
		LOCKTAG		tag;

		/* the claim of one taking the page as empty, or of another holder */
		SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, RelationGetRelid(rel), p->block,
							 CLAIM_LOCK_FIELD4);
		if (LockAcquire(&tag, ShareLock, false, true) == LOCKACQUIRE_NOT_AVAIL)
			return false;
		p->claim_tag = tag;
		p->held = true;
	}

	/*
	 * Held from now on, the page may have changed hands before: it must
	 * hold the owner's rows, or none; a shared page, some of them, unless
	 * it is the open admission page, where the owner may be new.
	 */
	inspect_page(rel, p->block, owner, owner_len,
				 p->shared ? INSPECT_UNTIL_MINE : INSPECT_FIRST, &info);
	if (info.empty)
		owners = true;
	else if (!p->shared)
		owners = info.first_mine;
	else if (info.any_mine)
		owners = true;
	else
	{
		KalamRelStorage storage = KalamRelStorageOf(rel);
		RelationHint rel_hint;

		owner_map_get_relation(&storage, &rel_hint);
		owners = owner_map_is_open_admission(&rel_hint, p->block);
	}
	if (owners && info.free >= p->need)
		return true;
	/* a claim taken for an empty page stays, for placement_finish() */
	release_hold(p);
	return false;
}

void
placement_note_buffer(Relation rel, const char *owner, int owner_len, Placement *p,
					  Buffer buffer)
{
	if (buffer != p->recent_buffer && BufferIsValid(buffer) && !p->shared &&
		BufferGetBlockNumber(buffer) == p->block)
	{
		KalamRelStorage storage = KalamRelStorageOf(rel);

		owner_map_set_recent_buffer(&storage, owner, owner_len, p->block, buffer);
		p->recent_buffer = buffer;
	}
}

void
placement_take_empty_page(Relation rel, const char *owner, int owner_len, Placement *p)
{
	release_claim(p);
	p->shared = false;
	p->recent_buffer = InvalidBuffer;
	p->free_estimate = -1;
	p->taken_empty = true;
	/* a fresh one, not one of the free space map, whose room may be stale */
	set_target(rel, p, extend_by_one_page(rel, p), false);
}

/*
 * The page placement_take_empty_page() took: the owner's own page if the
 * row is on it (the map looks at it next time), else, while still claimed
 * and empty (heap kept an update's new version on its page, or did not
 * update), offered to whoever needs an empty page.
 */
static void
settle_taken_page(Relation rel, const char *owner, int owner_len, Placement *p,
				  BlockNumber used_block)
{
	KalamRelStorage storage = KalamRelStorageOf(rel);

	if (used_block == p->block)
	{
		OwnerHint	hint;
		RelationHint rel_hint;

		owner_map_get_relation(&storage, &rel_hint);
		if (!owner_map_get(&storage, owner, owner_len, &hint))
			memset(&hint, 0, sizeof(hint));
		hint_seen(&hint, owner_map_vacuum_generation(), rel_hint.vacuum_generation);
		hint.block = p->block;
		hint.kind = HINT_OWN;
		hint.shared_rows = 0;
		hint.free_estimate = 0;		/* looked at next time */
		hint.recent_buffer = InvalidBuffer;
		owner_map_put(&storage, owner, owner_len, &hint);
	}
	else
	{
		PageInfo	info;

		inspect_page(rel, p->block, owner, owner_len, INSPECT_FIRST, &info);
		if (info.empty)
			offer_empty_page(rel, p->block);
	}
}

void
placement_point_at_own_page(Relation rel, const char *owner, int owner_len)
{
	KalamRelStorage storage = KalamRelStorageOf(rel);
	OwnerHint	hint;
	BlockNumber block = InvalidBlockNumber;

	if (owner_map_get(&storage, owner, owner_len, &hint) && hint.kind == HINT_OWN &&
		hint_is_current(&storage, &hint, owner_map_vacuum_generation()))
		block = hint.block;
	RelationSetTargetBlock(rel, block);
}

void
placement_drop_lease(Relation rel, const char *owner, int owner_len, const Placement *p)
{
	KalamRelStorage storage = KalamRelStorageOf(rel);

	owner_page_cache_put(&storage, owner, owner_len, NULL);
	owner_map_mark_full(&storage, owner, owner_len, p->block);
}

/*
 * A bulk insert's row is on its target: keep the page in this backend,
 * with where on it the row went (the next row of the owner goes below).
 */
static void
remember_bulk_page(Relation rel, const char *owner, int owner_len, const Placement *p,
				   BlockNumber used_block)
{
	KalamRelStorage storage = KalamRelStorageOf(rel);

	if (used_block == p->block && !p->shared && p->free_estimate >= 0)
	{
		CachedOwnerPage page;

		page.block = p->block;
		page.buffer = p->recent_buffer;
		page.generation = p->generation;
		page.storage_epoch = p->storage_epoch;
		page.free_estimate = (uint16) p->free_estimate;
		/* the caller still pins the buffer; the value is only a hint */
		page.upper = (BufferIsValid(p->recent_buffer) && !BufferIsLocal(p->recent_buffer)) ?
			((PageHeader) BufferGetPage(p->recent_buffer))->pd_upper : 0;
		owner_page_cache_put(&storage, owner, owner_len, &page);
	}
	else
		owner_page_cache_put(&storage, owner, owner_len, NULL);
}

void
placement_finish(Relation rel, const char *owner, int owner_len, Placement *p,
				 int nrows, BlockNumber used_block)
{
	KalamRelStorage storage = KalamRelStorageOf(rel);
	OwnerHint	hint;

	if (p->bulk)
		remember_bulk_page(rel, owner, owner_len, p, used_block);
	if (p->taken_empty)
	{
		settle_taken_page(rel, owner, owner_len, p, used_block);
		p->taken_empty = false;
		release_claim(p);
		return;
	}
	release_claim(p);
	if (!BlockNumberIsValid(p->block) || !BlockNumberIsValid(used_block) ||
		used_block == p->block)
		return;
	if (!owner_map_get(&storage, owner, owner_len, &hint))
		return;

	/*
	 * Heap found the target full after all (another session of this owner
	 * filled it, or the estimate was off) and extended the relation: the
	 * new page holds this owner's rows only.  If another session did the
	 * same meanwhile, the owner now has two new pages: keep the hint on
	 * theirs and leave ours to the free space map, where the owner's next
	 * search finds it.  A row heap may have put on a page of the free space
	 * map is not followed there: holding only this owner's rows now, that
	 * page may still be another's (claimed and not yet used, or the
	 * admission page).
	 */
	if (p->may_use_fsm)
		return;
	{
		PageInfo	info;

		inspect_page(rel, used_block, owner, owner_len, INSPECT_ALL, &info);
		if (!info.all_mine)
			return;
	}
	if (hint.block != p->block && hint.kind == HINT_OWN)
	{
		RecordPageWithFreeSpace(rel, used_block, BLCKSZ / 2);
		hint.may_reuse = true;
	}
	else
	{
		hint.block = used_block;
		hint.kind = HINT_OWN;
		hint.free_estimate = room_after(EMPTY_PAGE_ROOM, (Size) nrows * BLCKSZ / MaxHeapTuplesPerPage);
	}
	owner_map_put(&storage, owner, owner_len, &hint);
}
