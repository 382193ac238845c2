/*-------------------------------------------------------------------------
 *
 * placement.h
 *	  Where the kalamdb access method puts a row: a page of its owner.
 *
 *-------------------------------------------------------------------------
 */
#ifndef KALAM_PLACEMENT_H
#define KALAM_PLACEMENT_H

#include "storage/lwlock.h"
#include "utils/rel.h"

typedef struct Placement
{
	BlockNumber block;			/* target page */
	bool		shared;			/* the target is a shared page */
	LWLock	   *claim_lock;		/* held while an empty page is being taken */
} Placement;

extern int	kalam_small_owner_rows;

extern void placement_define_gucs(void);
extern void placement_shmem_request(void);
extern void placement_shmem_init(void);

/*
 * Choose the page for nrows rows of this owner, the first of length len,
 * and make it the relation's insertion target.  With allow_claim, an
 * empty page may be taken under a lock that is held until
 * placement_finish(); callers that can wait for row locks (updates) pass
 * false.
 */
extern void placement_begin(Relation rel, const char *owner, int owner_len,
							Size len, int nrows, bool allow_claim, Placement *p);

/* The last row landed on used_block: release the claim, remember the page. */
extern void placement_finish(Relation rel, const char *owner, int owner_len,
							 Placement *p, int nrows, BlockNumber used_block);

#endif							/* KALAM_PLACEMENT_H */
