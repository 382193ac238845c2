/*-------------------------------------------------------------------------
 *
 * rel_cache.c
 *	  The kalamdb access method's per-relation cache, kept in rd_amcache:
 *	  which column holds the owner, and which index finds an owner's rows;
 *	  and a row's owner, read through that column.
 *
 * The relcache frees rd_amcache whenever the entry is invalidated (ALTER
 * TABLE, CREATE INDEX, ...), so both are recomputed after any change.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "catalog/namespace.h"
#include "catalog/pg_am_d.h"
#include "catalog/pg_index.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/syscache.h"

#include "am/owner_map.h"
#include "am/rel_cache.h"
#include "kalamdb.h"
#include "keys/key_kind.h"

Oid
kalam_user_id_type(void)
{
	Oid			nsp = get_namespace_oid(KALAM_SCHEMA, true);

	if (!OidIsValid(nsp))
		return InvalidOid;
	return GetSysCacheOid2(TYPENAMENSP, Anum_pg_type_oid,
						   CStringGetDatum("user_id"), ObjectIdGetDatum(nsp));
}

AttrNumber
kalam_first_column_of_type(TupleDesc desc, Oid type)
{
	for (int i = 0; i < desc->natts && OidIsValid(type); i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (!att->attisdropped && att->atttypid == type)
			return att->attnum;
	}
	return InvalidAttrNumber;
}

KalamRelCache *
kalam_rel_cache(Relation rel)
{
	KalamRelCache *cache = (KalamRelCache *) rel->rd_amcache;

	if (cache == NULL)
	{
		TupleDesc	desc = RelationGetDescr(rel);

		/*
		 * A temporary table has no owner column as far as placement goes:
		 * its pages are the session's own, and its file number is unique
		 * only within the session while the owner map is shared.
		 */
		Oid			user_id_type = RelationUsesLocalBuffers(rel) ? InvalidOid :
			kalam_user_id_type();

		cache = MemoryContextAllocZero(CacheMemoryContext, sizeof(KalamRelCache));
		cache->owner_index = InvalidOid;
		cache->owner_attno = kalam_first_column_of_type(desc, user_id_type);
		rel->rd_amcache = cache;
		if (cache->owner_attno != InvalidAttrNumber)
		{
			KalamRelStorage storage = KalamRelStorageOf(rel);

			owner_map_note_owner_column(&storage, cache->owner_attno);
		}
	}
	return cache;
}

Oid
kalam_owner_index(Relation rel)
{
	KalamRelCache *cache = kalam_rel_cache(rel);
	AttrNumber	owner_attno = cache->owner_attno;
	List	   *indexes;
	ListCell   *lc;
	Oid			found = InvalidOid;
	Oid			eq_proc = InvalidOid;

	if (cache->owner_index_known || owner_attno == 0)
		return cache->owner_index;

	indexes = RelationGetIndexList(rel);
	foreach(lc, indexes)
	{
		Relation	index = index_open(lfirst_oid(lc), AccessShareLock);
		Form_pg_index form = index->rd_index;

		/* a partial index would not find all of an owner's rows */
		if (form->indisvalid && form->indisready && form->indislive &&
			heap_attisnull(index->rd_indextuple, Anum_pg_index_indpred, NULL) &&
			form->indkey.values[0] == owner_attno &&
			index->rd_rel->relam == BTREE_AM_OID)
		{
			Oid			type = TupleDescAttr(RelationGetDescr(rel), owner_attno - 1)->atttypid;
			Oid			eq_op = get_opfamily_member(index->rd_opfamily[0], type, type,
													BTEqualStrategyNumber);

			if (OidIsValid(eq_op))
			{
				found = RelationGetRelid(index);
				eq_proc = get_opcode(eq_op);
			}
		}
		index_close(index, AccessShareLock);
		if (OidIsValid(found))
			break;
	}
	list_free(indexes);

	/* Opening the indexes may have rebuilt the relcache entry: fetch again. */
	cache = kalam_rel_cache(rel);
	cache->owner_index = found;
	cache->owner_eq_proc = eq_proc;
	cache->owner_index_known = true;
	return found;
}

bool
kalam_slot_owner(Relation rel, TupleTableSlot *slot, char *buf, int *owner_len)
{
	AttrNumber	attno = kalam_rel_cache(rel)->owner_attno;
	bool		isnull;
	Datum		value;

	if (attno == 0)
		return false;
	value = slot_getattr(slot, attno, &isnull);
	return kalam_datum_owner(value, isnull, buf, owner_len);
}

bool
kalam_datum_owner(Datum value, bool isnull, char *buf, int *owner_len)
{
	struct varlena *v;
	int			len;

	if (isnull)
	{
		memcpy(buf, NULL_OWNER, NULL_OWNER_LEN);
		*owner_len = NULL_OWNER_LEN;
		return true;
	}
	v = PG_DETOAST_DATUM_PACKED(value);
	len = VARSIZE_ANY_EXHDR(v);
	if (len > 0 && len <= USER_ID_MAX_LEN)
		memcpy(buf, VARDATA_ANY(v), len);
	/* a compressed or out-of-line owner came back as a copy: free it */
	if ((Pointer) v != DatumGetPointer(value))
		pfree(v);
	if (len <= 0 || len > USER_ID_MAX_LEN)
		return false;
	*owner_len = len;
	return true;
}
