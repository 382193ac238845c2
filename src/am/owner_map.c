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
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/guc.h"

#include "am/owner_map.h"
#include "keys/key_kind.h"

#define OWNER_MAP_WAYS 8

typedef struct OwnerMapEntry
{
	uint32		hash;			/* 0: empty */
	uint32		last_used;
	KalamRelStorage node;
	uint8		owner_len;		/* 0: the relation's own entry */
	char		owner[USER_ID_MAX_LEN];
	union
	{
		OwnerHint owner;
		RelationHint relation;
	}			hint;
} OwnerMapEntry;

typedef struct OwnerMapSet
{
	slock_t		mutex;
	uint32		clock;
	OwnerMapEntry entries[OWNER_MAP_WAYS];
} OwnerMapSet;

int			kalam_owner_map_entries = 65536;

static OwnerMapSet *owner_map = NULL;
static uint32 owner_map_sets = 0;

void
owner_map_define_gucs(void)
{
	DefineCustomIntVariable("kalam.owner_map_entries",
							"Owners whose current page the kalamdb access method remembers.",
							"About 170 bytes of shared memory each; owners that do not fit "
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
	return mul_size(set_count(), sizeof(OwnerMapSet));
}

void
owner_map_shmem_init(void)
{
	bool		found;

	owner_map_sets = set_count();
	owner_map = ShmemInitStruct("kalamdb owner map", owner_map_shmem_size(), &found);
	if (!found)
	{
		memset(owner_map, 0, owner_map_shmem_size());
		for (uint32 i = 0; i < owner_map_sets; i++)
			SpinLockInit(&owner_map[i].mutex);
	}
}

static uint32
key_hash(const KalamRelStorage *node, const char *owner, int owner_len)
{
	uint32		h = hash_bytes((const unsigned char *) node, sizeof(KalamRelStorage));

	if (owner_len > 0)
		h = hash_combine(h, hash_bytes((const unsigned char *) owner, owner_len));
	return h == 0 ? 1 : h;		/* 0 marks an empty entry */
}

static inline bool
key_matches(const OwnerMapEntry *e, uint32 hash, const KalamRelStorage *node,
			const char *owner, int owner_len)
{
	return e->hash == hash && e->owner_len == owner_len &&
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
	OwnerMapEntry *victim = NULL;

	for (int i = 0; i < OWNER_MAP_WAYS; i++)
	{
		OwnerMapEntry *e = &set->entries[i];

		if (key_matches(e, hash, node, owner, owner_len))
		{
			e->last_used = ++set->clock;
			return e;
		}
		if (victim == NULL || e->hash == 0 ||
			(victim->hash != 0 && (int32) (e->last_used - victim->last_used) < 0))
			victim = e;
	}
	if (!create)
		return NULL;

	victim->hash = hash;
	victim->last_used = ++set->clock;
	victim->node = *node;
	victim->owner_len = (uint8) owner_len;
	memcpy(victim->owner, owner, owner_len);
	memset(&victim->hint, 0, sizeof(victim->hint));
	victim->hint.owner.block = InvalidBlockNumber;
	return victim;
}

static OwnerMapSet *
set_for(uint32 hash)
{
	Assert(owner_map != NULL);
	return &owner_map[hash % owner_map_sets];
}

bool
owner_map_get(const KalamRelStorage *node, const char *owner, int owner_len, OwnerHint *hint)
{
	uint32		hash = key_hash(node, owner, owner_len);
	OwnerMapSet *set = set_for(hash);
	OwnerMapEntry *e;

	Assert(owner_len > 0 && owner_len <= USER_ID_MAX_LEN);
	SpinLockAcquire(&set->mutex);
	e = find_entry(set, hash, node, owner, owner_len, false);
	if (e)
		*hint = e->hint.owner;
	SpinLockRelease(&set->mutex);
	return e != NULL;
}

void
owner_map_put(const KalamRelStorage *node, const char *owner, int owner_len, const OwnerHint *hint)
{
	uint32		hash = key_hash(node, owner, owner_len);
	OwnerMapSet *set = set_for(hash);
	OwnerMapEntry *e;

	Assert(owner_len > 0 && owner_len <= USER_ID_MAX_LEN);
	SpinLockAcquire(&set->mutex);
	e = find_entry(set, hash, node, owner, owner_len, true);
	e->hint.owner = *hint;
	SpinLockRelease(&set->mutex);
}

/* The relation's entry, created empty if missing; set is locked by caller. */
static OwnerMapEntry *
relation_entry(OwnerMapSet *set, uint32 hash, const KalamRelStorage *node)
{
	OwnerMapEntry *e = find_entry(set, hash, node, "", 0, false);

	if (e == NULL)
	{
		e = find_entry(set, hash, node, "", 0, true);
		e->hint.relation.admission_block = InvalidBlockNumber;
	}
	return e;
}

void
owner_map_get_relation(const KalamRelStorage *node, RelationHint *hint)
{
	uint32		hash = key_hash(node, "", 0);
	OwnerMapSet *set = set_for(hash);

	SpinLockAcquire(&set->mutex);
	*hint = relation_entry(set, hash, node)->hint.relation;
	SpinLockRelease(&set->mutex);
}

BlockNumber
owner_map_admit(const KalamRelStorage *node)
{
	uint32		hash = key_hash(node, "", 0);
	OwnerMapSet *set = set_for(hash);
	RelationHint *r;
	BlockNumber result = InvalidBlockNumber;

	SpinLockAcquire(&set->mutex);
	r = &relation_entry(set, hash, node)->hint.relation;
	if (BlockNumberIsValid(r->admission_block) && r->admitted < r->admission_limit)
	{
		r->admitted++;
		result = r->admission_block;
	}
	SpinLockRelease(&set->mutex);
	return result;
}

void
owner_map_open_admission(const KalamRelStorage *node, BlockNumber block, uint16 limit)
{
	uint32		hash = key_hash(node, "", 0);
	OwnerMapSet *set = set_for(hash);
	RelationHint *r;

	SpinLockAcquire(&set->mutex);
	r = &relation_entry(set, hash, node)->hint.relation;
	r->admission_block = block;
	r->admitted = 1;
	r->admission_limit = limit;
	SpinLockRelease(&set->mutex);
}

void
owner_map_bump_vacuum_generation(const KalamRelStorage *node)
{
	uint32		hash = key_hash(node, "", 0);
	OwnerMapSet *set = set_for(hash);

	SpinLockAcquire(&set->mutex);
	relation_entry(set, hash, node)->hint.relation.vacuum_generation++;
	SpinLockRelease(&set->mutex);
}

void
owner_map_forget_relation(const KalamRelStorage *node)
{
	if (owner_map == NULL)
		return;
	for (uint32 s = 0; s < owner_map_sets; s++)
	{
		OwnerMapSet *set = &owner_map[s];

		SpinLockAcquire(&set->mutex);
		for (int i = 0; i < OWNER_MAP_WAYS; i++)
		{
			OwnerMapEntry *e = &set->entries[i];

			if (e->hash != 0 && KalamRelStorageEquals(e->node, *node))
				e->hash = 0;
		}
		SpinLockRelease(&set->mutex);
	}
}
