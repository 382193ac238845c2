/*-------------------------------------------------------------------------
 *
 * owner_map.h
 *	  The owner -> page hint map of the kalamdb access method, in shared
 *	  memory.
 *
 *-------------------------------------------------------------------------
 */
#ifndef KALAM_OWNER_MAP_H
#define KALAM_OWNER_MAP_H

#include "access/transam.h"

#include "storage/block.h"
#include "storage/buf.h"
#include "am/am_compat.h"

typedef enum OwnerHintKind
{
	HINT_SHARED = 1,			/* a page shared by owners with few rows */
	HINT_OWN = 2				/* a page of this owner alone */
} OwnerHintKind;

/* What the map remembers about one owner of one relation */
typedef struct OwnerHint
{
	BlockNumber block;			/* where the owner's next row should go */
	uint8		kind;			/* OwnerHintKind */
	bool		may_reuse;		/* VACUUM may have freed room on pages of
								 * this owner not yet looked at */
	uint16		free_estimate;	/* room left on the page, as far as inserts
								 * through the map have used it */
	uint16		shared_rows;	/* rows this owner put on shared pages */
	Buffer		recent_buffer;	/* the shared buffer that last held block,
								 * if known (ReadRecentBuffer() checks) */
	uint32		seen_generation;	/* global vacuum generation when the
									 * hint was last validated */
	uint32		seen_relation_generation;	/* the relation's, likewise */
} OwnerHint;

/* What the map remembers about a relation as a whole */
typedef struct RelationHint
{
	BlockNumber admission_block;	/* shared page taking in new owners */
	uint16		admitted;		/* owners admitted to it so far */
	uint16		admission_limit;	/* how many it may take in */
	uint32		vacuum_generation;	/* the global counter's value at the last
									 * VACUUM of this relation (or when the
									 * entry was made) */
	uint32		admission_generation;	/* vacuum_generation when the
										 * admission page was opened: a
										 * VACUUM since may have given it
										 * to one owner */
	bool		complete;		/* every owner with rows is in the map ... */
	int16		owner_attno;	/* the owner column the owners' hints are of
								 * (0: not known) */
	uint32		eviction_epoch; /* ... as long as no entry was evicted */
} RelationHint;

extern int	kalam_owner_map_entries;

extern void owner_map_define_gucs(void);
extern Size owner_map_shmem_size(void);
extern void owner_map_shmem_init(void);

/*
 * Start loading the owner's set of the map into the CPU cache: called as
 * soon as the owner is known, it overlaps the miss with other work.
 */
extern void owner_map_prefetch(const KalamRelStorage *node, const char *owner, int owner_len);
extern bool owner_map_get(const KalamRelStorage *node, const char *owner, int owner_len,
						  OwnerHint *hint);
extern void owner_map_put(const KalamRelStorage *node, const char *owner, int owner_len,
						  const OwnerHint *hint);

/*
 * The fast path of placement: if the owner's hint is an own page validated
 * in this vacuum generation with at least need bytes left (by the
 * estimate), take consume bytes of it (or what is left, if less: *taken)
 * and return true.  Otherwise return false; *found tells whether *hint
 * holds the owner's entry.
 */
extern bool owner_map_reserve(const KalamRelStorage *node, const char *owner, int owner_len,
							  uint32 generation, Size need, Size consume,
							  OwnerHint *hint, bool *found, Size *taken);
/*
 * Put the hint of an owner on shared page hint->block and count nrows more
 * of its rows there, unless the map has meanwhile moved the owner
 * elsewhere or that would make more than limit rows: then false.  The
 * rows are counted in the map, not in *hint, so that two sessions adding
 * rows of one owner at once cannot both count from the same number.
 */
extern bool owner_map_put_shared(const KalamRelStorage *node, const char *owner, int owner_len,
								 const OwnerHint *hint, int nrows, int limit);

/* The owner's page block is full, if it is still the owner's page. */
extern void owner_map_mark_full(const KalamRelStorage *node, const char *owner, int owner_len,
								BlockNumber block);
/* Remember the buffer that holds the owner's page block, if still its page. */
extern void owner_map_set_recent_buffer(const KalamRelStorage *node, const char *owner,
										int owner_len, BlockNumber block, Buffer buffer);
extern void owner_map_get_relation(const KalamRelStorage *node, RelationHint *hint);

/*
 * The relation's owner column is attno (as its relcache entry is built):
 * if the map knows it as another (ALTER TABLE ... DROP COLUMN made a later
 * kalam.user_id column the owner, with no new storage), the owners' hints
 * are of the other column's values, and are forgotten.
 */
extern void owner_map_note_owner_column(const KalamRelStorage *node, AttrNumber attno);

/*
 * Whether block is the relation's open admission page, taking in new
 * owners (a VACUUM since it was opened closes it: it may have given the
 * page to one owner)
 */
static inline bool
owner_map_is_open_admission(const RelationHint *hint, BlockNumber block)
{
	return BlockNumberIsValid(hint->admission_block) && hint->admission_block == block &&
		hint->admission_generation == hint->vacuum_generation;
}

/*
 * Store hint only if the owner's entry still points at expected_block (or
 * is gone); else copy the entry to *current and return false.  Two
 * sessions moving the same owner to a new page at once thus agree on one.
 */
extern bool owner_map_replace(const KalamRelStorage *node, const char *owner, int owner_len,
							  BlockNumber expected_block, const OwnerHint *hint,
							  OwnerHint *current);

/* Admit one more owner to the open admission page; Invalid if none is open. */
extern BlockNumber owner_map_admit(const KalamRelStorage *node);
extern void owner_map_open_admission(const KalamRelStorage *node, BlockNumber block,
									 uint16 limit);
/*
 * Vacuum generations: a global one, bumped by every VACUUM of a kalamdb
 * table, and one per relation.  A hint validated in the current global
 * generation needs no second look: a page changes owner only when the
 * free space map offers it as empty, which it does once a VACUUM found it
 * so (placement.c).  The per-relation generation tells, on the
 * slow path, whether the VACUUM was of this relation at all.
 */
extern uint32 owner_map_vacuum_generation(void);

/*
 * The storage epoch, bumped whenever the map forgets a relation's storage
 * (new storage, TRUNCATE, VACUUM shrinking the relation, a dropped
 * database): what was learnt about pages before may be about storage that
 * is gone.  A relation that one day gets the file number of a dropped one
 * gets it as new storage, which bumps the epoch too.
 */
extern uint32 owner_map_storage_epoch(void);

/*
 * A VACUUM of a kalamdb table runs between these two.  Both bump the
 * generations, and while it runs the fast path is off for that relation: a
 * page it empties may change owner before it ends.  Other relations keep
 * theirs.
 */
extern void owner_map_vacuum_begin(const KalamRelStorage *node);
extern bool owner_map_relation_being_vacuumed(const KalamRelStorage *node);
extern void owner_map_vacuum_end(const KalamRelStorage *node);

/*
 * Transactions that moved rows with kalam.compact(), each noted just
 * before it commits, with its database; the map keeps the latest 128 (see
 * compaction.c).  owner_map_latest_compaction(): the largest noted (0:
 * none since the server started), and in *noted how many were noted so
 * far.  owner_map_recent_compactions() puts those of this database with an
 * xid since or later in xids (room for OWNER_MAP_RECENT_COMPACTIONS) and
 * returns how many; *forgotten: the largest, since or later, pushed out
 * while a snapshot could still miss it (of this database, or of several),
 * else invalid.
 */
#define OWNER_MAP_RECENT_COMPACTIONS 128
extern void owner_map_note_compaction(FullTransactionId xid);
extern FullTransactionId owner_map_latest_compaction(uint64 *noted);
extern int	owner_map_recent_compactions(FullTransactionId since, FullTransactionId *xids,
										 FullTransactionId *forgotten);

/* Forget every relation of a database (dropped, or moved elsewhere). */
extern void owner_map_forget_database(Oid dbid);

/*
 * A relation whose storage is new and empty: every owner it will have goes
 * through the map, so an owner missing from it is new (until an entry is
 * evicted somewhere).  Saves looking each new owner up in the owner index.
 */
extern void owner_map_set_complete(const KalamRelStorage *node, bool complete);
extern bool owner_map_is_complete(const RelationHint *hint);

/* Forget everything about a relation's storage (new, truncated, shrunk). */
extern void owner_map_forget_relation(const KalamRelStorage *node);

#endif							/* KALAM_OWNER_MAP_H */
