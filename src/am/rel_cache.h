/*-------------------------------------------------------------------------
 *
 * rel_cache.h
 *	  What the kalamdb access method keeps about a relation in its relcache
 *	  entry: the owner column and the index that finds an owner's pages;
 *	  and a row's owner, read through that column.
 *
 *-------------------------------------------------------------------------
 */
#ifndef KALAM_REL_CACHE_H
#define KALAM_REL_CACHE_H

#include "executor/tuptable.h"
#include "utils/rel.h"

/*
 * The owner key of rows whose owner column is NULL: they get pages of
 * their own too, rather than land on some owner's.  No user id has this
 * byte.
 */
#define NULL_OWNER		"\x01"
#define NULL_OWNER_LEN	1

typedef struct KalamRelCache
{
	AttrNumber	owner_attno;	/* first kalam.user_id column; 0 if none,
								 * and for temporary tables */
	bool		owner_index_known;	/* owner_index has been looked up */
	Oid			owner_index;	/* valid btree index led by the owner column */
	Oid			owner_eq_proc;	/* kalam.user_id equality, for scan keys */
} KalamRelCache;

/* The cache of a kalamdb relation (built on first use, freed with rd_amcache). */
extern KalamRelCache *kalam_rel_cache(Relation rel);

/* The owner index, looked up on first use; InvalidOid if there is none. */
extern Oid	kalam_owner_index(Relation rel);

/*
 * The owner of the row in slot, copied to buf (USER_ID_MAX_LEN bytes), or
 * false: no owner column (temporary tables have none).  A NULL owner is
 * NULL_OWNER.
 */
extern bool kalam_slot_owner(Relation rel, TupleTableSlot *slot, char *buf, int *owner_len);

/*
 * An owner column's value copied to buf as kalam_slot_owner() gives it,
 * brought back first if compressed or out of line (the copy freed); false
 * if it is no owner id (empty or too long)
 */
extern bool kalam_datum_owner(Datum value, bool isnull, char *buf, int *owner_len);

/* The OID of type kalam.user_id, or InvalidOid if the extension is absent. */
extern Oid	kalam_user_id_type(void);

/* The first column of that type (the owner column: kalam.user_id), or 0 */
extern AttrNumber kalam_first_column_of_type(TupleDesc desc, Oid type);

#endif							/* KALAM_REL_CACHE_H */
