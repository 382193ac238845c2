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

#include "storage/block.h"
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
	uint16		shared_rows;	/* rows this owner put on shared pages */
	uint32		searched_generation;	/* vacuum generation of the last
										 * search for reusable own pages */
} OwnerHint;

/* What the map remembers about a relation as a whole */
typedef struct RelationHint
{
	BlockNumber admission_block;	/* shared page taking in new owners */
	uint16		admitted;		/* owners admitted to it so far */
	uint16		admission_limit;	/* how many it may take in */
	uint32		vacuum_generation;	/* bumped by every VACUUM */
} RelationHint;

extern int	kalam_owner_map_entries;

extern void owner_map_define_gucs(void);
extern Size owner_map_shmem_size(void);
extern void owner_map_shmem_init(void);

extern bool owner_map_get(const KalamRelStorage *node, const char *owner, int owner_len,
						  OwnerHint *hint);
extern void owner_map_put(const KalamRelStorage *node, const char *owner, int owner_len,
						  const OwnerHint *hint);
extern void owner_map_get_relation(const KalamRelStorage *node, RelationHint *hint);

/* Admit one more owner to the open admission page; Invalid if none is open. */
extern BlockNumber owner_map_admit(const KalamRelStorage *node);
extern void owner_map_open_admission(const KalamRelStorage *node, BlockNumber block,
									 uint16 limit);
extern void owner_map_bump_vacuum_generation(const KalamRelStorage *node);

/* Forget everything about a relation's storage (new, truncated, shrunk). */
extern void owner_map_forget_relation(const KalamRelStorage *node);

#endif							/* KALAM_OWNER_MAP_H */
