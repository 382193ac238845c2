/*-------------------------------------------------------------------------
 *
 * placement.h
 *	  Where the kalamdb access method puts a row: a page of its owner.
 *
 *-------------------------------------------------------------------------
 */
#ifndef KALAM_PLACEMENT_H
#define KALAM_PLACEMENT_H

#include "storage/buf.h"
#include "storage/bufpage.h"
#include "storage/lock.h"
#include "utils/rel.h"

typedef struct Placement
{
	BlockNumber block;			/* target page */
	bool		shared;			/* the target is a shared page */
	bool		claimed;		/* claim_tag is held: an empty page is being
								 * taken */
	bool		held;			/* claim_tag is held in share mode: the
								 * target is not to be taken as empty */
	bool		taken_empty;	/* the target is placement_take_empty_page()'s */
	bool		bulk;			/* this backend's owner page cache is used */
	Buffer		recent_buffer;	/* the buffer that last held block, if known */
	Size		need;			/* room the first row needs (heap's test) */
	int32		free_estimate;	/* bulk: an own page validated in generation,
								 * with this much room left of this backend's
								 * lease; -1: not leased */
	uint32		generation;		/* vacuum generation at placement_begin() */
	uint32		storage_epoch;	/* storage epoch, likewise (bulk only) */
	bool		may_use_fsm;	/* set by the caller: heap may take a page
								 * from the free space map */
	LOCKTAG		claim_tag;
} Placement;

extern int	kalam_small_owner_rows;

extern void placement_define_gucs(void);

/*
 * Choose the page for nrows rows of this owner, of length len each but
 * the first, which may take up to max_len (a row heap will TOAST: see
 * row_length.h), and make it the relation's insertion target.  An empty
 * page taken (from the free space map, or added to the relation) is
 * claimed until placement_finish(), under a lock no one waits for.  Bulk
 * inserts (a BulkInsertState: COPY) pass bulk, which puts this backend's
 * owner page cache in front of the shared map.
 */
extern void placement_begin(Relation rel, const char *owner, int owner_len,
							Size len, Size max_len, int nrows, bool bulk, Placement *p);

/*
 * The page of a lease (free_estimate >= 0) turned out full: another
 * session of the owner used the room this backend had leased.  Forget the
 * lease and the map's estimate of the page, so that placement_begin()
 * looks at the page and moves the owner on to a new one, the same one as
 * the other session.
 */
extern void placement_drop_lease(Relation rel, const char *owner, int owner_len,
								 const Placement *p);

/*
 * The last row landed on used_block: release the claim, remember the page
 * if heap extended the relation for it
 */
extern void placement_finish(Relation rel, const char *owner, int owner_len,
							 Placement *p, int nrows, BlockNumber used_block);

/*
 * Before an update heap is expected to keep on its page: should heap find
 * the page full after all, it tries the relation's target first, which an
 * earlier insert may have left on another owner's page; make it the
 * owner's own page the map knows, if any (nothing is booked there).
 */
extern void placement_point_at_own_page(Relation rel, const char *owner, int owner_len);

/*
 * Whether the target is still a page for the owner's row, now that the
 * caller has pinned it.  placement_begin() chooses most targets without a
 * lock on them; were a VACUUM to empty the page meanwhile, another owner
 * could take it as empty.  A pinned page is no longer taken as empty, and
 * a page no VACUUM ran on since placement_begin() is still the owner's;
 * otherwise a look at the page tells (an own page whose first row is the
 * owner's; a shared page holding one of the owner's rows, or the open
 * admission page, where the owner may be new).  A claimed or held target
 * is the owner's in any case.  buffer: the target, pinned.  False: place
 * the row again.
 */
extern bool placement_recheck(Relation rel, const char *owner, int owner_len,
							  const Placement *p, Buffer buffer);

/*
 * For a row whose way to its page is long (heap stores its values in the
 * TOAST table first, or waits for the lock of the row it updates), during
 * which VACUUM may empty the target and another owner take it as an empty
 * page: keep the target from being taken until placement_finish() (a
 * claim in share mode, not waited for), then look at it.  True if the
 * target is still the owner's (or empty) and has the room heap will ask
 * of it for the first row; false, holding nothing, if not, or if someone
 * is taking it as an empty page right now.
 */
extern bool placement_hold_target(Relation rel, const char *owner, int owner_len,
								  Placement *p);

/*
 * Make an empty page the target, claimed until placement_finish(): for a
 * row whose target could not be held twice, which heap must not be left
 * to place (with no target, heap tries the relation's last page, or the
 * free space map).  placement_finish() makes it the owner's own page in
 * the owner map if the row is on it, else offers it again.
 */
extern void placement_take_empty_page(Relation rel, const char *owner, int owner_len,
									  Placement *p);

/* The target page is in buffer: tell the owner map, for next time. */
extern void placement_note_buffer(Relation rel, const char *owner, int owner_len,
								  Placement *p, Buffer buffer);

/*
 * The owner of the tuple at off on page (a normal item; page locked), by
 * its owner column attno, into buf (USER_ID_MAX_LEN bytes); false if it
 * cannot be read here (moved out of line, which heap does to a value this
 * short only in the widest rows)
 */
extern bool placement_tuple_owner(Relation rel, AttrNumber attno, Page page, OffsetNumber off,
								  char *buf, int *owner_len);

/*
 * Whether the tuple at off on page (a normal item; page locked) is the
 * owner's, by its owner column attno
 */
extern bool placement_tuple_is_owners(Relation rel, AttrNumber attno, Page page,
									  OffsetNumber off, const char *owner, int owner_len);

/*
 * Whether every tuple on page (page locked), dead ones VACUUM has not
 * removed yet included, has the owner of the tuple at known
 */
extern bool placement_page_is_one_owners(Relation rel, Page page, OffsetNumber known);

#endif							/* KALAM_PLACEMENT_H */
