/*-------------------------------------------------------------------------
 *
 * page_prefetch.h
 *	  Prefetching the cache lines an insert into a shared buffer's page
 *	  will write: the buffer's header, the page header, the new line
 *	  pointer and the spot where the row will go.
 *
 * Rows of interleaved owners go to as many pages, none of them in the CPU
 * cache by the time the owner's next row comes; fetched one after the
 * other as heap reaches them, their misses add up, fetched together they
 * overlap.  Addresses come from hints read without a lock: they are
 * checked for sense, and a wrong one only costs a useless prefetch.
 *
 *-------------------------------------------------------------------------
 */
#ifndef KALAM_PAGE_PREFETCH_H
#define KALAM_PAGE_PREFETCH_H

#include "storage/buf_internals.h"
#include "storage/bufpage.h"

#ifdef __GNUC__
#define prefetch_for_write(addr) __builtin_prefetch((addr), 1)
#else
#define prefetch_for_write(addr) ((void) 0)
#endif

/* a row of about this many bytes, where its length is not known */
#define PREFETCH_ROW_BYTES	(3 * PG_CACHE_LINE_SIZE)

/*
 * Where a row of len bytes will go on a page whose pd_lower and pd_upper
 * are (or were) lower and upper: the new line pointer at pd_lower, the
 * row just below pd_upper.
 */
static inline void
prefetch_insertion_point(char *page, LocationIndex lower, LocationIndex upper, Size len)
{
	if (lower < upper && upper <= BLCKSZ && upper > len)
	{
		prefetch_for_write(page + lower);
		for (Size off = upper - len; off < upper; off += PG_CACHE_LINE_SIZE)
			prefetch_for_write(page + off);
		prefetch_for_write(page + upper - 1);
	}
}

/*
 * Before an insert into a shared buffer's page: the buffer's header, the
 * page header and, if lower is not 0, the insertion point.
 */
static inline void
prefetch_buffer_for_insert(Buffer buffer, LocationIndex lower, LocationIndex upper, Size len)
{
	if (!BufferIsValid(buffer) || BufferIsLocal(buffer) || buffer > NBuffers)
		return;
	prefetch_for_write(GetBufferDescriptor(buffer - 1));
	prefetch_for_write(BufferGetBlock(buffer));
	if (lower != 0)
		prefetch_insertion_point(BufferGetBlock(buffer), lower, upper, len);
}

#endif							/* KALAM_PAGE_PREFETCH_H */
