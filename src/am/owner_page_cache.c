/*-------------------------------------------------------------------------
 *
 * owner_page_cache.c
 *	  This backend's memory of the own pages its bulk inserts (COPY) used
 *	  last, in front of the shared owner map.
 *
 * A COPY whose rows' owners are interleaved goes to a different owner's
 * page with every row.  The shared map answers that from a large table
 * behind a spinlock per set, a few cache misses per row; this cache is
 * small, private and lock-free.  It holds only what the shared map's fast
 * path would have answered: an own page of the owner, validated in the
 * current vacuum generation.  A page changes owner only when it is taken
 * as empty from the free space map, which offers a page as empty only
 * once a VACUUM found it so (or when a session gives up, unused, a page
 * no hint names); so such a page stays the owner's until the generation
 * moves or the relation's storage is replaced (the storage epoch, which
 * also guards against a file number being reused).
 *
 * The room this backend uses through the cache is leased from the shared
 * map's estimate a quarter page at a time (placement_begin()), so that
 * concurrent bulk inserts of one owner still share its page.  A lease
 * left unused when the COPY ends only makes the estimate short, which the
 * next insert of the owner corrects by looking at the page.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/hashfn.h"
#include "utils/memutils.h"

#include "am/owner_map.h"
#include "am/owner_page_cache.h"

/*
 * An entry fills a cache line of 64 bytes (x86's and most others';
 * PG_CACHE_LINE_SIZE is a cautious 128): owner ids up to this long are
 * cached
 */
#define CACHE_LINE			64
#define CACHED_OWNER_MAX	31

/*
 * 4096 entries in sets of 4 (256 kB, held in the L2 cache): with a
 * thousand owners interleaved, direct mapping would leave a fifth of them
 * evicting each other.
 */
#define CACHE_WAYS			4
#define CACHE_SETS			1024	/* a power of two */

typedef struct CacheEntry
{
	KalamRelStorage storage;
	CachedOwnerPage page;
	uint8		owner_len;		/* 0: empty */
	char		owner[CACHED_OWNER_MAX];
} CacheEntry;

StaticAssertDecl(sizeof(CacheEntry) <= CACHE_LINE,
				 "a cached owner page fits a cache line");

typedef union CacheSlot
{
	CacheEntry	entry;
	char		pad[CACHE_LINE];
} CacheSlot;

static CacheSlot *cache = NULL;

static uint32
key_hash(const KalamRelStorage *storage, const char *owner, int owner_len)
{
	return hash_bytes((const unsigned char *) owner, owner_len) ^
		((uint32) KalamRelStorageNumber(*storage) * 0x9E3779B1);
}

static CacheSlot *
set_for(uint32 hash)
{
	return &cache[(hash % CACHE_SETS) * CACHE_WAYS];
}

static inline bool
key_matches(const CacheEntry *e, const KalamRelStorage *storage, const char *owner,
			int owner_len)
{
	return e->owner_len == owner_len && memcmp(e->owner, owner, owner_len) == 0 &&
		KalamRelStorageEquals(e->storage, *storage);
}

/* The entry of the key, or NULL */
static CacheEntry *
find_entry(CacheSlot *set, const KalamRelStorage *storage, const char *owner, int owner_len)
{
	for (int i = 0; i < CACHE_WAYS; i++)
		if (key_matches(&set[i].entry, storage, owner, owner_len))
			return &set[i].entry;
	return NULL;
}

bool
owner_page_cache_take(const KalamRelStorage *storage, const char *owner, int owner_len,
					  uint32 generation, uint32 storage_epoch, Size need, Size consume,
					  CachedOwnerPage *page)
{
	CacheEntry *e;

	if (cache == NULL || owner_len > CACHED_OWNER_MAX)
		return false;
	e = find_entry(set_for(key_hash(storage, owner, owner_len)), storage, owner, owner_len);
	if (e == NULL)
		return false;
	if (e->page.generation != generation || e->page.storage_epoch != storage_epoch ||
		owner_map_relation_being_vacuumed(storage))
	{
		e->owner_len = 0;
		return false;
	}
	if (e->page.free_estimate < need)
		return false;
	e->page.free_estimate -= Min(consume, e->page.free_estimate);
	*page = e->page;
	return true;
}

const CachedOwnerPage *
owner_page_cache_peek(const KalamRelStorage *storage, const char *owner, int owner_len)
{
	CacheEntry *e;

	if (cache == NULL || owner_len > CACHED_OWNER_MAX)
		return NULL;
	e = find_entry(set_for(key_hash(storage, owner, owner_len)), storage, owner, owner_len);
	return e ? &e->page : NULL;
}

/* The cache lives as long as the backend, its entries cache-line aligned */
static void
allocate_cache(void)
{
	char	   *space = MemoryContextAllocZero(TopMemoryContext,
											   CACHE_SETS * CACHE_WAYS * sizeof(CacheSlot) +
											   PG_CACHE_LINE_SIZE);

	cache = (CacheSlot *) CACHELINEALIGN(space);
}

void
owner_page_cache_put(const KalamRelStorage *storage, const char *owner, int owner_len,
					 const CachedOwnerPage *page)
{
	uint32		hash;
	CacheSlot  *set;
	CacheEntry *e;

	if (owner_len > CACHED_OWNER_MAX)
		return;
	if (cache == NULL)
	{
		if (page == NULL)
			return;
		allocate_cache();
	}
	hash = key_hash(storage, owner, owner_len);
	set = set_for(hash);
	e = find_entry(set, storage, owner, owner_len);
	if (page == NULL)
	{
		if (e != NULL)
			e->owner_len = 0;
		return;
	}
	if (e == NULL)
	{
		/* an empty way, else one picked by the hash's high bits */
		for (int i = 0; i < CACHE_WAYS && e == NULL; i++)
			if (set[i].entry.owner_len == 0)
				e = &set[i].entry;
		if (e == NULL)
			e = &set[(hash >> 24) % CACHE_WAYS].entry;
		e->storage = *storage;
		e->owner_len = (uint8) owner_len;
		memcpy(e->owner, owner, owner_len);
	}
	e->page = *page;
}
