/*-------------------------------------------------------------------------
 *
 * owner_map.c
 *	  The owner -> page hint map of the kalamdb access method: a fixed-size,
 *	  8-way set-associative cache in shared memory.
 *
 * Key: the relation's storage (tablespace, database, relfilenode) and the
 * owner's user id; an owner id of length zero is the relation's own entry
 * (its admission page and vacuum generation).  Each set of 8 entries has
 * its own spinlock, held only to compare keys and copy a few bytes.  When
 * a set is full, its least recently used entry is replaced: the map only
 * holds hints, and a lost hint costs a lookup in the owner index, never a
 * wrong answer.  The map is empty after a restart for the same reason.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/hashfn.h"
#include "miscadmin.h"
#include "port/atomics.h"
#include "storage/ipc.h"
#include "storage/procarray.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/guc.h"

#include "am/owner_map.h"
#include "keys/key_kind.h"

#define OWNER_MAP_WAYS 8

/*
 * The key's storage and the hint share the entry's first cache line, and
 * so do the bytes of an owner id of up to 24 characters: a lookup that
 * finds its owner touches two lines, the set's head and the entry.
 */
typedef struct OwnerMapEntry
{
	KalamRelStorage node;
	uint8		owner_len;		/* 0: the relation's own entry */
	union
	{
		OwnerHint	owner;
		RelationHint relation;
	}			hint;
	char		owner[USER_ID_MAX_LEN];
} OwnerMapEntry;

typedef union OwnerMapSlot
{
	OwnerMapEntry entry;
	char		pad[CACHELINEALIGN(sizeof(OwnerMapEntry))];
} OwnerMapSlot;

/*
 * The lock, hashes and use stamps of a set fill its first cache line.
 * Use stamps are 16 bits: the least recently used entry is found by
 * differences, which stay right unless an entry went unused for 32768
 * uses of its set (then the victim is merely a less good choice).
 */
typedef struct OwnerMapSetHead
{
	slock_t		mutex;
	uint16		clock;
	uint16		last_used[OWNER_MAP_WAYS];
	uint32		hash[OWNER_MAP_WAYS];	/* 0: empty */
} OwnerMapSetHead;

typedef struct OwnerMapSet
{
	OwnerMapSetHead head;
	char		pad[PG_CACHE_LINE_SIZE - sizeof(OwnerMapSetHead)];
	OwnerMapSlot slots[OWNER_MAP_WAYS];
} OwnerMapSet;

StaticAssertDecl(offsetof(OwnerMapEntry, owner) + 24 <= PG_CACHE_LINE_SIZE,
				 "an owner map entry's head and short owner ids share a cache line");

int			kalam_owner_map_entries = 65536;

/*
 * The relations being vacuumed are listed by relation file number: inserts
 * into them skip the fast path until their VACUUM ends, inserts elsewhere
 * do not even look at the list while no VACUUM runs.  Another database's
 * relation of the same number only costs a slow path.  A VACUUM that finds
 * the list full counts as unlisted, and while one is, every relation is
 * treated as being vacuumed.  A bit per relation file number modulo 64
 * tells inserts into other relations, mostly, that theirs is not in the
 * list without reading it (autovacuum runs often).
 */
#define VACUUM_SLOTS 64
#define VACUUM_BITS 64
#define VACUUM_BIT(number)	(UINT64CONST(1) << ((number) % VACUUM_BITS))


/* A compaction's database and transaction (a FullTransactionId) */
typedef struct CompactionNote
{
	Oid			dbid;
	uint64		xid;
} CompactionNote;

typedef struct OwnerMapHeader
{
	pg_atomic_uint32 vacuum_generation;
	pg_atomic_uint32 storage_epoch; /* bumped when storage is forgotten */
	pg_atomic_uint32 eviction_epoch;	/* bumped when an entry is evicted */
	pg_atomic_uint32 relation_evictions;	/* relations' entries evicted or
											 * forgotten */
	pg_atomic_uint32 vacuums_running;	/* every VACUUM in progress */
	pg_atomic_uint32 vacuums_unlisted;	/* of those, the ones not in the list */
	slock_t		vacuum_mutex;	/* serializes changes of the list */
	uint32		vacuuming_count[VACUUM_SLOTS];	/* VACUUMs per slot, under mutex */
	pg_atomic_uint32 vacuuming[VACUUM_SLOTS];	/* relation file number; 0: free */
	uint32		bit_count[VACUUM_BITS];	/* listed VACUUMs per bit, under mutex */
	pg_atomic_uint64 vacuuming_bits;	/* VACUUM_BIT of each listed number */
	/* the latest compactions: see owner_map_note_compaction() */
	pg_atomic_uint64 latest_compaction; /* the largest noted, or 0 */
	pg_atomic_uint64 compactions_noted; /* how many, since the start */
	slock_t		compaction_mutex;	/* for the three below */
	CompactionNote compactions[OWNER_MAP_RECENT_COMPACTIONS];	/* xid 0: free */
	uint64		compaction_forgotten;	/* the largest pushed out while
										 * some snapshot could still miss
										 * it, or 0 */
	Oid			forgotten_dbid; /* its database; invalid: several */
} OwnerMapHeader;

/*
 * This backend's VACUUM between begin and end (a backend vacuums one
 * relation at a time): its slot, or -1 if unlisted.  Undone if the backend
 * exits meanwhile.
 */
static bool my_vacuum_running = false;
static int	my_vacuum_slot = -1;
static bool exit_callback_registered = false;

static OwnerMapHeader *owner_map_header = NULL;
static OwnerMapSet *owner_map = NULL;
static uint32 owner_map_sets = 0;

void
owner_map_define_gucs(void)
{
	DefineCustomIntVariable("kalam.owner_map_entries",
							"Owners whose current page the kalamdb access method remembers.",
							"About 272 bytes of shared memory each; owners that do not fit "
							"are looked up again through an index led by the owner column.",
							&kalam_owner_map_entries,
							65536, 1024, 16 * 1024 * 1024,
							PGC_POSTMASTER,
							0,
							NULL, NULL, NULL);
}

static uint32
set_count(void)
{
	return Max(1, kalam_owner_map_entries / OWNER_MAP_WAYS);
}

Size
owner_map_shmem_size(void)
{
	return add_size(CACHELINEALIGN(sizeof(OwnerMapHeader)),
					mul_size(set_count(), sizeof(OwnerMapSet)));
}

void
owner_map_shmem_init(void)
{
	bool		found;
	char	   *base;

	owner_map_sets = set_count();
	base = ShmemInitStruct("kalamdb owner map", owner_map_shmem_size(), &found);
	owner_map_header = (OwnerMapHeader *) base;
	owner_map = (OwnerMapSet *) (base + CACHELINEALIGN(sizeof(OwnerMapHeader)));
	if (!found)
	{
		memset(base, 0, owner_map_shmem_size());
		pg_atomic_init_u32(&owner_map_header->vacuum_generation, 1);
		pg_atomic_init_u32(&owner_map_header->storage_epoch, 1);
		pg_atomic_init_u32(&owner_map_header->eviction_epoch, 1);
		pg_atomic_init_u32(&owner_map_header->relation_evictions, 0);
		pg_atomic_init_u32(&owner_map_header->vacuums_running, 0);
		pg_atomic_init_u32(&owner_map_header->vacuums_unlisted, 0);
		SpinLockInit(&owner_map_header->vacuum_mutex);
		for (int i = 0; i < VACUUM_SLOTS; i++)
			pg_atomic_init_u32(&owner_map_header->vacuuming[i], 0);
		pg_atomic_init_u64(&owner_map_header->vacuuming_bits, 0);
		pg_atomic_init_u64(&owner_map_header->latest_compaction, 0);
		pg_atomic_init_u64(&owner_map_header->compactions_noted, 0);
		owner_map_header->forgotten_dbid = InvalidOid;
		SpinLockInit(&owner_map_header->compaction_mutex);
		memset(owner_map_header->compactions, 0, sizeof(owner_map_header->compactions));
		owner_map_header->compaction_forgotten = 0;
		for (uint32 i = 0; i < owner_map_sets; i++)
			SpinLockInit(&owner_map[i].head.mutex);
	}
}

uint32
owner_map_vacuum_generation(void)
{
	return pg_atomic_read_u32(&owner_map_header->vacuum_generation);
}

uint32
owner_map_storage_epoch(void)
{
	return pg_atomic_read_u32(&owner_map_header->storage_epoch);
}

void
owner_map_note_compaction(FullTransactionId xid)
{
	OwnerMapHeader *h = owner_map_header;
	uint64		value = U64FromFullTransactionId(xid);
	uint64		latest = pg_atomic_read_u64(&h->latest_compaction);
	/* every snapshot now running sees transactions before this as ended */
	TransactionId horizon = GetOldestNonRemovableTransactionId(NULL);
	int			slot = 0;

	SpinLockAcquire(&h->compaction_mutex);
	for (int i = 1; i < OWNER_MAP_RECENT_COMPACTIONS; i++)
		if (h->compactions[i].xid < h->compactions[slot].xid)
			slot = i;
	if (h->compactions[slot].xid != 0 &&
		!TransactionIdPrecedes((TransactionId) h->compactions[slot].xid, horizon))
	{
		h->forgotten_dbid = (h->compaction_forgotten == 0 ||
							 h->forgotten_dbid == h->compactions[slot].dbid) ?
			h->compactions[slot].dbid : InvalidOid;
		h->compaction_forgotten = Max(h->compaction_forgotten, h->compactions[slot].xid);
	}
	h->compactions[slot].dbid = MyDatabaseId;
	h->compactions[slot].xid = value;
	SpinLockRelease(&h->compaction_mutex);
	pg_atomic_fetch_add_u64(&h->compactions_noted, 1);
	while (latest < value &&
		   !pg_atomic_compare_exchange_u64(&h->latest_compaction, &latest, value))
		;
}

FullTransactionId
owner_map_latest_compaction(uint64 *noted)
{
	*noted = pg_atomic_read_u64(&owner_map_header->compactions_noted);
	return FullTransactionIdFromU64(pg_atomic_read_u64(&owner_map_header->latest_compaction));
}

int
owner_map_recent_compactions(FullTransactionId since, FullTransactionId *xids,
							 FullTransactionId *forgotten)
{
	OwnerMapHeader *h = owner_map_header;
	int			n = 0;

	*forgotten = InvalidFullTransactionId;
	if (pg_atomic_read_u64(&h->latest_compaction) < U64FromFullTransactionId(since))
		return 0;
	SpinLockAcquire(&h->compaction_mutex);
	for (int i = 0; i < OWNER_MAP_RECENT_COMPACTIONS; i++)
		if (h->compactions[i].dbid == MyDatabaseId &&
			h->compactions[i].xid >= U64FromFullTransactionId(since))
			xids[n++] = FullTransactionIdFromU64(h->compactions[i].xid);
	if (h->compaction_forgotten >= U64FromFullTransactionId(since) &&
		(h->forgotten_dbid == MyDatabaseId || !OidIsValid(h->forgotten_dbid)))
		*forgotten = FullTransactionIdFromU64(h->compaction_forgotten);
	SpinLockRelease(&h->compaction_mutex);
	return n;
}


static uint32
key_hash(const KalamRelStorage *node, const char *owner, int owner_len)
{
	/* the tablespace is left out: key_matches() compares all of node */
	uint32		h = hash_bytes_uint32((uint32) KalamRelStorageNumber(*node) ^
									  (KalamRelStorageDatabase(*node) * 0x9E3779B1));

	if (owner_len > 0)
		h = hash_combine(h, hash_bytes((const unsigned char *) owner, owner_len));
	return h == 0 ? 1 : h;		/* 0 marks an empty entry */
}

static inline bool
key_matches(const OwnerMapEntry *e, const KalamRelStorage *node,
			const char *owner, int owner_len)
{
	return e->owner_len == owner_len &&
		KalamRelStorageEquals(e->node, *node) &&
		memcmp(e->owner, owner, owner_len) == 0;
}

/*
 * The entry for the key in a locked set, or NULL.  With create, an empty
 * or least recently used entry is taken over and keyed (hint zeroed).
 */
static OwnerMapEntry *
find_entry(OwnerMapSet *set, uint32 hash, const KalamRelStorage *node,
		   const char *owner, int owner_len, bool create)
{
	int			victim = -1;

	for (int i = 0; i < OWNER_MAP_WAYS; i++)
	{
		if (set->head.hash[i] == hash && key_matches(&set->slots[i].entry, node, owner, owner_len))
		{
			set->head.last_used[i] = ++set->head.clock;
			return &set->slots[i].entry;
		}
		if (victim < 0 || set->head.hash[i] == 0 ||
			(set->head.hash[victim] != 0 && (int16) (set->head.last_used[i] - set->head.last_used[victim]) < 0))
			victim = i;
	}
	if (!create)
		return NULL;

	{
		OwnerMapEntry *e = &set->slots[victim].entry;

		if (set->head.hash[victim] != 0)
		{
			pg_atomic_fetch_add_u32(&owner_map_header->eviction_epoch, 1);
			if (e->owner_len == 0)
				pg_atomic_fetch_add_u32(&owner_map_header->relation_evictions, 1);
		}
		set->head.hash[victim] = hash;
		set->head.last_used[victim] = ++set->head.clock;
		e->node = *node;
		e->owner_len = (uint8) owner_len;
		memcpy(e->owner, owner, owner_len);
		memset(&e->hint, 0, sizeof(e->hint));
		e->hint.owner.block = InvalidBlockNumber;
		return e;
	}
}

static OwnerMapSet *
set_for(uint32 hash)
{
	Assert(owner_map != NULL);
	return &owner_map[hash % owner_map_sets];
}

void
owner_map_prefetch(const KalamRelStorage *node, const char *owner, int owner_len)
{
#ifdef __GNUC__
	__builtin_prefetch(set_for(key_hash(node, owner, owner_len)), 1);
#endif
}

bool
owner_map_get(const KalamRelStorage *node, const char *owner, int owner_len, OwnerHint *hint)
{
	uint32		hash = key_hash(node, owner, owner_len);
	OwnerMapSet *set = set_for(hash);
	OwnerMapEntry *e;

	Assert(owner_len > 0 && owner_len <= USER_ID_MAX_LEN);
	SpinLockAcquire(&set->head.mutex);
	e = find_entry(set, hash, node, owner, owner_len, false);
	if (e)
		*hint = e->hint.owner;
	SpinLockRelease(&set->head.mutex);
	return e != NULL;
}

/* Whether a VACUUM of the relation (or an unlisted one) is running */
bool
owner_map_relation_being_vacuumed(const KalamRelStorage *node)
{
	uint32		number = (uint32) KalamRelStorageNumber(*node);

	if (pg_atomic_read_u32(&owner_map_header->vacuums_running) == 0)
		return false;
	pg_read_barrier();
	if (pg_atomic_read_u32(&owner_map_header->vacuums_unlisted) > 0)
		return true;
	if ((pg_atomic_read_u64(&owner_map_header->vacuuming_bits) & VACUUM_BIT(number)) == 0)
		return false;
	for (int i = 0; i < VACUUM_SLOTS; i++)
		if (pg_atomic_read_u32(&owner_map_header->vacuuming[i]) == number)
			return true;
	return false;
}

bool
owner_map_reserve(const KalamRelStorage *node, const char *owner, int owner_len,
				  uint32 generation, Size need, Size consume,
				  OwnerHint *hint, bool *found, Size *taken)
{
	uint32		hash = key_hash(node, owner, owner_len);
	OwnerMapSet *set = set_for(hash);
	OwnerMapEntry *e;
	bool		reserved = false;
	bool		vacuum_running = owner_map_relation_being_vacuumed(node);

	SpinLockAcquire(&set->head.mutex);
	e = find_entry(set, hash, node, owner, owner_len, false);
	if (e)
	{
		OwnerHint  *h = &e->hint.owner;

		if (!vacuum_running && h->kind == HINT_OWN && h->seen_generation == generation &&
			h->free_estimate >= need)
		{
			*taken = Min(consume, h->free_estimate);
			h->free_estimate -= *taken;
			reserved = true;
		}
		*hint = *h;
	}
	SpinLockRelease(&set->head.mutex);
	*found = (e != NULL);
	return reserved;
}

void
owner_map_put(const KalamRelStorage *node, const char *owner, int owner_len, const OwnerHint *hint)
{
	uint32		hash = key_hash(node, owner, owner_len);
	OwnerMapSet *set = set_for(hash);
	OwnerMapEntry *e;

	Assert(owner_len > 0 && owner_len <= USER_ID_MAX_LEN);
	SpinLockAcquire(&set->head.mutex);
	e = find_entry(set, hash, node, owner, owner_len, true);
	e->hint.owner = *hint;
	SpinLockRelease(&set->head.mutex);
}

bool
owner_map_put_shared(const KalamRelStorage *node, const char *owner, int owner_len,
					 const OwnerHint *hint, int nrows, int limit)
{
	uint32		hash = key_hash(node, owner, owner_len);
	OwnerMapSet *set = set_for(hash);
	OwnerMapEntry *e;
	int			rows = hint->shared_rows + nrows;
	bool		put = false;

	Assert(hint->kind == HINT_SHARED);
	SpinLockAcquire(&set->head.mutex);
	e = find_entry(set, hash, node, owner, owner_len, false);
	if (e != NULL)
	{
		if (e->hint.owner.kind == HINT_SHARED && e->hint.owner.block == hint->block)
			rows = e->hint.owner.shared_rows + nrows;
		else
			rows = INT_MAX;		/* moved on meanwhile */
	}
	if (rows <= limit)
	{
		if (e == NULL)
			e = find_entry(set, hash, node, owner, owner_len, true);
		e->hint.owner = *hint;
		e->hint.owner.shared_rows = (uint16) rows;
		put = true;
	}
	SpinLockRelease(&set->head.mutex);
	return put;
}

/*
 * The owner's entry, with its set locked, if its page is block; else NULL,
 * and nothing locked.
 */
static OwnerMapEntry *
lock_entry_of_page(const KalamRelStorage *node, const char *owner, int owner_len,
				   BlockNumber block, OwnerMapSet **set)
{
	uint32		hash = key_hash(node, owner, owner_len);
	OwnerMapEntry *e;

	*set = set_for(hash);
	SpinLockAcquire(&(*set)->head.mutex);
	e = find_entry(*set, hash, node, owner, owner_len, false);
	if (e != NULL && e->hint.owner.block == block)
		return e;
	SpinLockRelease(&(*set)->head.mutex);
	return NULL;
}

void
owner_map_mark_full(const KalamRelStorage *node, const char *owner, int owner_len,
					BlockNumber block)
{
	OwnerMapSet *set;
	OwnerMapEntry *e = lock_entry_of_page(node, owner, owner_len, block, &set);

	if (e != NULL)
	{
		e->hint.owner.free_estimate = 0;
		SpinLockRelease(&set->head.mutex);
	}
}

void
owner_map_set_recent_buffer(const KalamRelStorage *node, const char *owner, int owner_len,
							BlockNumber block, Buffer buffer)
{
	OwnerMapSet *set;
	OwnerMapEntry *e = lock_entry_of_page(node, owner, owner_len, block, &set);

	if (e != NULL)
	{
		e->hint.owner.recent_buffer = buffer;
		SpinLockRelease(&set->head.mutex);
	}
}

bool
owner_map_replace(const KalamRelStorage *node, const char *owner, int owner_len,
				  BlockNumber expected_block, const OwnerHint *hint, OwnerHint *current)
{
	uint32		hash = key_hash(node, owner, owner_len);
	OwnerMapSet *set = set_for(hash);
	OwnerMapEntry *e;
	bool		replaced = false;

	SpinLockAcquire(&set->head.mutex);
	e = find_entry(set, hash, node, owner, owner_len, false);
	if (e == NULL || e->hint.owner.block == expected_block)
	{
		if (e == NULL)
			e = find_entry(set, hash, node, owner, owner_len, true);
		e->hint.owner = *hint;
		replaced = true;
	}
	else
		*current = e->hint.owner;
	SpinLockRelease(&set->head.mutex);
	return replaced;
}

/* The relation's entry, created empty if missing; set is locked by caller. */
static void forget_entries(const KalamRelStorage *node, Oid dbid);

static OwnerMapEntry *
relation_entry(OwnerMapSet *set, uint32 hash, const KalamRelStorage *node)
{
	OwnerMapEntry *e = find_entry(set, hash, node, "", 0, false);

	if (e == NULL)
	{
		/*
		 * Relation generations are values of the global counter, so that
		 * an entry made anew (this one was evicted) never repeats a value
		 * owners' hints hold from before a VACUUM of the relation
		 */
		e = find_entry(set, hash, node, "", 0, true);
		e->hint.relation.admission_block = InvalidBlockNumber;
		e->hint.relation.vacuum_generation =
			pg_atomic_read_u32(&owner_map_header->vacuum_generation);
	}
	return e;
}

void
owner_map_get_relation(const KalamRelStorage *node, RelationHint *hint)
{
	uint32		hash = key_hash(node, "", 0);
	OwnerMapSet *set = set_for(hash);

	SpinLockAcquire(&set->head.mutex);
	*hint = relation_entry(set, hash, node)->hint.relation;
	SpinLockRelease(&set->head.mutex);
}

void
owner_map_note_owner_column(const KalamRelStorage *node, AttrNumber attno)
{
	uint32		hash;
	OwnerMapSet *set;
	RelationHint *r;
	bool		changed;

	if (owner_map == NULL || attno == InvalidAttrNumber)
		return;
	hash = key_hash(node, "", 0);
	set = set_for(hash);
	SpinLockAcquire(&set->head.mutex);
	r = &relation_entry(set, hash, node)->hint.relation;
	/*
	 * Not known (0): the relation's entry is new; unless no relation's
	 * entry was ever evicted, an earlier one may have been, its owners'
	 * hints kept
	 */
	changed = (r->owner_attno != attno &&
			   (r->owner_attno != 0 ||
				pg_atomic_read_u32(&owner_map_header->relation_evictions) != 0));
	r->owner_attno = attno;
	SpinLockRelease(&set->head.mutex);
	if (!changed)
		return;
	forget_entries(node, InvalidOid);
	/* the relation's entry went too: it knows the column again */
	SpinLockAcquire(&set->head.mutex);
	relation_entry(set, hash, node)->hint.relation.owner_attno = attno;
	SpinLockRelease(&set->head.mutex);
}

BlockNumber
owner_map_admit(const KalamRelStorage *node)
{
	uint32		hash = key_hash(node, "", 0);
	OwnerMapSet *set = set_for(hash);
	RelationHint *r;
	BlockNumber result = InvalidBlockNumber;

	SpinLockAcquire(&set->head.mutex);
	r = &relation_entry(set, hash, node)->hint.relation;
	if (!owner_map_is_open_admission(r, r->admission_block))
		r->admission_block = InvalidBlockNumber;
	if (BlockNumberIsValid(r->admission_block) && r->admitted < r->admission_limit)
	{
		r->admitted++;
		result = r->admission_block;
	}
	SpinLockRelease(&set->head.mutex);
	return result;
}

void
owner_map_open_admission(const KalamRelStorage *node, BlockNumber block, uint16 limit)
{
	uint32		hash = key_hash(node, "", 0);
	OwnerMapSet *set = set_for(hash);
	RelationHint *r;

	SpinLockAcquire(&set->head.mutex);
	r = &relation_entry(set, hash, node)->hint.relation;
	r->admission_block = block;
	r->admitted = 1;
	r->admission_limit = limit;
	r->admission_generation = r->vacuum_generation;
	SpinLockRelease(&set->head.mutex);
}

static void
bump_vacuum_generation(const KalamRelStorage *node)
{
	uint32		hash = key_hash(node, "", 0);
	OwnerMapSet *set = set_for(hash);
	uint32		generation = pg_atomic_add_fetch_u32(&owner_map_header->vacuum_generation, 1);

	SpinLockAcquire(&set->head.mutex);
	relation_entry(set, hash, node)->hint.relation.vacuum_generation = generation;
	SpinLockRelease(&set->head.mutex);
}

/* Take the relation into the list (slot -1: unlisted) */
static int
list_vacuum(const KalamRelStorage *node)
{
	uint32		number = (uint32) KalamRelStorageNumber(*node);
	int			slot = -1;

	SpinLockAcquire(&owner_map_header->vacuum_mutex);
	for (int i = 0; i < VACUUM_SLOTS && slot < 0; i++)
		if (owner_map_header->vacuuming_count[i] > 0 &&
			pg_atomic_read_u32(&owner_map_header->vacuuming[i]) == number)
			slot = i;
	for (int i = 0; i < VACUUM_SLOTS && slot < 0; i++)
		if (owner_map_header->vacuuming_count[i] == 0)
			slot = i;
	if (slot >= 0)
	{
		owner_map_header->vacuuming_count[slot]++;
		pg_atomic_write_u32(&owner_map_header->vacuuming[slot], number);
		if (owner_map_header->bit_count[number % VACUUM_BITS]++ == 0)
			pg_atomic_fetch_or_u64(&owner_map_header->vacuuming_bits, VACUUM_BIT(number));
	}
	else
		pg_atomic_fetch_add_u32(&owner_map_header->vacuums_unlisted, 1);
	SpinLockRelease(&owner_map_header->vacuum_mutex);
	/* a full barrier: the list is written before the count says to read it */
	pg_atomic_fetch_add_u32(&owner_map_header->vacuums_running, 1);
	return slot;
}

static void
unlist_vacuum(int slot)
{
	SpinLockAcquire(&owner_map_header->vacuum_mutex);
	if (slot < 0)
		pg_atomic_fetch_sub_u32(&owner_map_header->vacuums_unlisted, 1);
	else
	{
		uint32		number = pg_atomic_read_u32(&owner_map_header->vacuuming[slot]);

		if (--owner_map_header->bit_count[number % VACUUM_BITS] == 0)
			pg_atomic_fetch_and_u64(&owner_map_header->vacuuming_bits, ~VACUUM_BIT(number));
		if (--owner_map_header->vacuuming_count[slot] == 0)
			pg_atomic_write_u32(&owner_map_header->vacuuming[slot], 0);
	}
	SpinLockRelease(&owner_map_header->vacuum_mutex);
	pg_atomic_fetch_sub_u32(&owner_map_header->vacuums_running, 1);
}

static void
unlist_my_vacuums(int code, Datum arg)
{
	if (owner_map_header == NULL)
		return;
	if (my_vacuum_running)
	{
		/* it may have emptied pages: what was validated before is not */
		pg_atomic_fetch_add_u32(&owner_map_header->vacuum_generation, 1);
		unlist_vacuum(my_vacuum_slot);
	}
	my_vacuum_running = false;
}

void
owner_map_vacuum_begin(const KalamRelStorage *node)
{
	if (!exit_callback_registered)
	{
		on_shmem_exit(unlist_my_vacuums, 0);
		exit_callback_registered = true;
	}
	if (my_vacuum_running)
		elog(ERROR, "a VACUUM of a kalamdb table is already running in this backend");
	my_vacuum_slot = list_vacuum(node);
	my_vacuum_running = true;
	bump_vacuum_generation(node);
}

void
owner_map_vacuum_end(const KalamRelStorage *node)
{
	bump_vacuum_generation(node);
	if (my_vacuum_running)
		unlist_vacuum(my_vacuum_slot);
	my_vacuum_running = false;
}

void
owner_map_set_complete(const KalamRelStorage *node, bool complete)
{
	uint32		hash = key_hash(node, "", 0);
	OwnerMapSet *set = set_for(hash);
	RelationHint *r;

	SpinLockAcquire(&set->head.mutex);
	r = &relation_entry(set, hash, node)->hint.relation;
	r->complete = complete;
	r->eviction_epoch = pg_atomic_read_u32(&owner_map_header->eviction_epoch);
	SpinLockRelease(&set->head.mutex);
}

bool
owner_map_is_complete(const RelationHint *hint)
{
	return hint->complete &&
		hint->eviction_epoch == pg_atomic_read_u32(&owner_map_header->eviction_epoch);
}

/* Drop the entries of one relation's storage (node) or of a whole database. */
static void
forget_entries(const KalamRelStorage *node, Oid dbid)
{
	if (owner_map == NULL)
		return;
	pg_atomic_fetch_add_u32(&owner_map_header->storage_epoch, 1);
	for (uint32 s = 0; s < owner_map_sets; s++)
	{
		OwnerMapSet *set = &owner_map[s];

		SpinLockAcquire(&set->head.mutex);
		for (int i = 0; i < OWNER_MAP_WAYS; i++)
		{
			const KalamRelStorage *entry = &set->slots[i].entry.node;

			if (set->head.hash[i] != 0 &&
				(node ? KalamRelStorageEquals(*entry, *node) :
				 KalamRelStorageDatabase(*entry) == dbid))
			{
				set->head.hash[i] = 0;
				/* a relation's entry made anew does not know its owner column */
				if (set->slots[i].entry.owner_len == 0)
					pg_atomic_fetch_add_u32(&owner_map_header->relation_evictions, 1);
			}
		}
		SpinLockRelease(&set->head.mutex);
	}
}

void
owner_map_forget_relation(const KalamRelStorage *node)
{
	forget_entries(node, InvalidOid);
}

void
owner_map_forget_database(Oid dbid)
{
	forget_entries(NULL, dbid);
}
