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
 * Each set has a head of one cache line, which stays in the CPU cache: a
 * tag of each way's key, and for each way the buffer of its page and where
 * the owner's next row will go there (this backend's last insert into it).
 * A lookup whose tag matches starts fetching the entry, the buffer header
 * and the page's lines the insert will write, all at once, before the key
 * is checked: their misses overlap instead of adding up.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/hashfn.h"
#include "utils/memutils.h"

#include "am/owner_map.h"
#include "am/owner_page_cache.h"
#include "am/page_prefetch.h"

/* owner ids up to this long are cached, which keeps an entry at 64 bytes */
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

StaticAssertDecl(sizeof(CacheEntry) <= PG_CACHE_LINE_SIZE,
				 "a cached owner page fits a cache line");

typedef union CacheSlot
{
	CacheEntry	entry;
	char		pad[PG_CACHE_LINE_SIZE];
} CacheSlot;

typedef struct CacheSetHead
{
	uint16		tag[CACHE_WAYS];	/* 0: empty way */
	Buffer		buffer[CACHE_WAYS]; /* hints, for prefetching only */
	LocationIndex next_lower[CACHE_WAYS];	/* 0: not known */
	LocationIndex next_upper[CACHE_WAYS];
} CacheSetHead;

typedef union CacheHeadSlot
{
	CacheSetHead head;
	char		pad[PG_CACHE_LINE_SIZE];
} CacheHeadSlot;

static CacheSlot *cache = NULL;
static CacheHeadSlot *heads = NULL;

/* The entry the last lookup found (take or put), for note_insertion_point */
static CacheEntry *last_entry = NULL;

static uint32
key_hash(const KalamRelStorage *storage, const char *owner, int owner_len)
{
	return hash_bytes((const unsigned char *) owner, owner_len) ^
		((uint32) KalamRelStorageNumber(*storage) * 0x9E3779B1);
}

static inline uint32
set_of(uint32 hash)
{
	return hash % CACHE_SETS;
}

static inline uint16
tag_of(uint32 hash)
{
	uint16		tag = (uint16) (hash >> 16);

	return tag == 0 ? 1 : tag;
}

static inline bool
key_matches(const CacheEntry *e, const KalamRelStorage *storage, const char *owner,
			int owner_len)
{
	return e->owner_len == owner_len && memcmp(e->owner, owner, owner_len) == 0 &&
		KalamRelStorageEquals(e->storage, *storage);
}

/*
 * The way of the key in set, or -1.  With prefetch_len > 0, a way whose
 * tag matches has its page's insertion point for a row of that many bytes
 * prefetched, with its entry, before the key is compared.
 */
static int
find_way(uint32 set, uint16 tag, const KalamRelStorage *storage, const char *owner,
		 int owner_len, Size prefetch_len)
{
	CacheSetHead *head = &heads[set].head;

	for (int i = 0; i < CACHE_WAYS; i++)
	{
		if (head->tag[i] != tag)
			continue;
		if (prefetch_len > 0)
		{
			prefetch_for_write(&cache[set * CACHE_WAYS + i]);
			prefetch_buffer_for_insert(head->buffer[i], head->next_lower[i],
									   head->next_upper[i], prefetch_len);
		}
		if (key_matches(&cache[set * CACHE_WAYS + i].entry, storage, owner, owner_len))
			return i;
	}
	return -1;
}

static void
forget_way(uint32 set, int way)
{
	cache[set * CACHE_WAYS + way].entry.owner_len = 0;
	heads[set].head.tag[way] = 0;
	heads[set].head.buffer[way] = InvalidBuffer;
	heads[set].head.next_lower[way] = 0;
	if (last_entry == &cache[set * CACHE_WAYS + way].entry)
		last_entry = NULL;
}

bool
owner_page_cache_take(const KalamRelStorage *storage, const char *owner, int owner_len,
					  uint32 generation, uint32 storage_epoch, Size need, Size consume,
					  CachedOwnerPage *page)
{
	uint32		hash;
	uint32		set;
	int			way;
	CacheEntry *e;

	last_entry = NULL;
	if (cache == NULL || owner_len > CACHED_OWNER_MAX)
		return false;
	hash = key_hash(storage, owner, owner_len);
	set = set_of(hash);
	way = find_way(set, tag_of(hash), storage, owner, owner_len, Max(consume, 1));
	if (way < 0)
		return false;
	e = &cache[set * CACHE_WAYS + way].entry;
	if (e->page.generation != generation || e->page.storage_epoch != storage_epoch ||
		owner_map_relation_being_vacuumed(storage))
	{
		forget_way(set, way);
		return false;
	}
	if (e->page.free_estimate < need)
		return false;
	e->page.free_estimate -= Min(consume, e->page.free_estimate);
	*page = e->page;
	last_entry = e;
	return true;
}

Buffer
owner_page_cache_peek(const KalamRelStorage *storage, const char *owner, int owner_len,
					  LocationIndex *next_lower, LocationIndex *next_upper)
{
	uint32		hash;
	uint32		set;
	CacheSetHead *head;

	if (cache == NULL || owner_len > CACHED_OWNER_MAX)
		return InvalidBuffer;
	hash = key_hash(storage, owner, owner_len);
	set = set_of(hash);
	head = &heads[set].head;
	for (int i = 0; i < CACHE_WAYS; i++)
		if (head->tag[i] == tag_of(hash))
		{
			*next_lower = head->next_lower[i];
			*next_upper = head->next_upper[i];
			return head->buffer[i];
		}
	return InvalidBuffer;
}

void
owner_page_cache_note_insertion_point(Buffer buffer, LocationIndex lower, LocationIndex upper)
{
	uint32		index;
	CacheSetHead *head;
	int			way;

	if (last_entry == NULL || last_entry->page.buffer != buffer)
		return;
	index = ((CacheSlot *) last_entry) - cache;
	head = &heads[index / CACHE_WAYS].head;
	way = index % CACHE_WAYS;
	head->next_lower[way] = lower;
	head->next_upper[way] = upper;
}

/* The cache lives as long as the backend, its lines cache-line aligned */
static void
allocate_cache(void)
{
	char	   *space = MemoryContextAllocZero(TopMemoryContext,
											   CACHE_SETS * CACHE_WAYS * sizeof(CacheSlot) +
											   CACHE_SETS * sizeof(CacheHeadSlot) +
											   PG_CACHE_LINE_SIZE);

	cache = (CacheSlot *) CACHELINEALIGN(space);
	heads = (CacheHeadSlot *) (cache + CACHE_SETS * CACHE_WAYS);
}

void
owner_page_cache_put(const KalamRelStorage *storage, const char *owner, int owner_len,
					 const CachedOwnerPage *page)
{
	uint32		hash;
	uint32		set;
	uint16		tag;
	CacheSetHead *head;
	int			way;
	CacheEntry *e;

	last_entry = NULL;
	if (owner_len > CACHED_OWNER_MAX)
		return;
	if (cache == NULL)
	{
		if (page == NULL)
			return;
		allocate_cache();
	}
	hash = key_hash(storage, owner, owner_len);
	set = set_of(hash);
	tag = tag_of(hash);
	head = &heads[set].head;
	way = find_way(set, tag, storage, owner, owner_len, 0);
	if (page == NULL)
	{
		if (way >= 0)
			forget_way(set, way);
		return;
	}
	if (way < 0)
	{
		/* an empty way, else one picked by the hash's high bits */
		for (int i = 0; i < CACHE_WAYS && way < 0; i++)
			if (head->tag[i] == 0)
				way = i;
		if (way < 0)
			way = (hash >> 24) % CACHE_WAYS;
		e = &cache[set * CACHE_WAYS + way].entry;
		e->storage = *storage;
		e->owner_len = (uint8) owner_len;
		memcpy(e->owner, owner, owner_len);
		head->tag[way] = tag;
		head->next_lower[way] = 0;
	}
	e = &cache[set * CACHE_WAYS + way].entry;
	if (e->page.block != page->block || e->page.buffer != page->buffer)
		head->next_lower[way] = 0;	/* another page: not known yet */
	e->page = *page;
	head->buffer[way] = page->buffer;
	last_entry = e;
}
