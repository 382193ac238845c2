/*-------------------------------------------------------------------------
 *
 * owner_page_cache.h
 *	  This backend's memory of the own pages its bulk inserts (COPY) used
 *	  last, in front of the shared owner map.
 *
 *-------------------------------------------------------------------------
 */
#ifndef KALAM_OWNER_PAGE_CACHE_H
#define KALAM_OWNER_PAGE_CACHE_H

#include "storage/block.h"
#include "storage/buf.h"
#include "am/am_compat.h"

/*
 * An own page of the owner, validated in vacuum generation `generation`
 * and storage epoch `storage_epoch` (owner_map.h), with free_estimate
 * bytes left as this backend's inserts count them.
 */
typedef struct CachedOwnerPage
{
	BlockNumber block;
	Buffer		buffer;			/* the buffer that last held block */
	uint32		generation;
	uint32		storage_epoch;
	uint16		free_estimate;
	uint16		upper;			/* pd_upper after this backend's last row there
								 * (a hint, for prefetching; 0: unknown) */
} CachedOwnerPage;

/*
 * The owner's cached page if it is still valid (generation and
 * storage_epoch are the current ones) and has need bytes left; consume
 * bytes are then counted as used.
 */
extern bool owner_page_cache_take(const KalamRelStorage *storage, const char *owner,
								  int owner_len, uint32 generation, uint32 storage_epoch,
								  Size need, Size consume, CachedOwnerPage *page);

/*
 * The owner's cached page, unchecked (NULL if none): where its next rows
 * will likely go, for prefetching.
 */
extern const CachedOwnerPage *owner_page_cache_peek(const KalamRelStorage *storage,
													 const char *owner, int owner_len);

/* Remember the owner's page, or forget the owner (page NULL). */
extern void owner_page_cache_put(const KalamRelStorage *storage, const char *owner,
								 int owner_len, const CachedOwnerPage *page);

#endif							/* KALAM_OWNER_PAGE_CACHE_H */
