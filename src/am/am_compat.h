/*-------------------------------------------------------------------------
 *
 * am_compat.h
 *	  The few server APIs of the access method that changed after
 *	  PostgreSQL 15 (only 15 is built and tested here).
 *
 *-------------------------------------------------------------------------
 */
#ifndef KALAM_AM_COMPAT_H
#define KALAM_AM_COMPAT_H

#include "utils/rel.h"

#if PG_VERSION_NUM >= 160000
#include "storage/relfilelocator.h"
typedef RelFileLocator KalamRelStorage;
#define KalamRelStorageOf(rel)		((rel)->rd_locator)
#define KalamRelStorageEquals(a, b)	RelFileLocatorEquals(a, b)
#define KalamRelStorageDatabase(a)	((a).dbOid)
#define KalamRelStorageNumber(a)	((a).relNumber)
#else
#include "storage/relfilenode.h"
typedef RelFileNode KalamRelStorage;
#define KalamRelStorageOf(rel)		((rel)->rd_node)
#define KalamRelStorageEquals(a, b)	RelFileNodeEquals(a, b)
#define KalamRelStorageDatabase(a)	((a).dbNode)
#define KalamRelStorageNumber(a)	((a).relNode)
#endif

/* A BulkInsertState that only keeps a pin: no buffer ring */
#if PG_VERSION_NUM >= 160000
#define KalamInitBulkInsertPins(b) \
	(memset((b), 0, sizeof(BulkInsertStateData)), \
	 (b)->next_free = InvalidBlockNumber, (b)->last_free = InvalidBlockNumber)
#else
#define KalamInitBulkInsertPins(b) memset((b), 0, sizeof(BulkInsertStateData))
#endif

/* Ownership of a relation; a new row version's index entries (no update) */
#if PG_VERSION_NUM >= 160000
#define KalamRelationOwnerCheck(relid, role) \
	object_ownercheck(RelationRelationId, (relid), (role))
#define KalamInsertIndexTuples(rri, slot, estate) \
	ExecInsertIndexTuples((rri), (slot), (estate), false, false, NULL, NIL, false)
#else
#define KalamRelationOwnerCheck(relid, role) pg_class_ownercheck((relid), (role))
#define KalamInsertIndexTuples(rri, slot, estate) \
	ExecInsertIndexTuples((rri), (slot), (estate), false, false, NULL, NIL)
#endif

#endif							/* KALAM_AM_COMPAT_H */
