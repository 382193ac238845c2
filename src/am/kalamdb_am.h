/*-------------------------------------------------------------------------
 *
 * kalamdb_am.h
 *	  The kalamdb table access method, as other files see it.
 *
 *-------------------------------------------------------------------------
 */
#ifndef KALAM_KALAMDB_AM_H
#define KALAM_KALAMDB_AM_H

#include "executor/tuptable.h"
#include "utils/rel.h"

/* Whether rel is stored by the kalamdb access method */
extern bool kalamdb_relation(Relation rel);

/*
 * Take the locks heap's TOAST step will take for the row in slot (NULL: a
 * row of rel's own), before choosing its page (see kalamdb_am.c)
 */
extern void kalam_lock_toast_relation(Relation rel, TupleTableSlot *slot);

/*
 * Whether a publication sends rel's inserts, updates or deletes to
 * subscribers: a row that kalamdb moves (an owner change, a compaction)
 * would reach them as a DELETE and an INSERT
 */
extern bool kalam_relation_is_published(Relation rel);

/*
 * Before a SERIALIZABLE read of rel by snapshot that may not meet every
 * version of its rows: a serialization failure if a compaction moved rows
 * after the snapshot was taken (see compaction.c)
 */
extern void compaction_check_old_snapshot(Relation rel, Snapshot snapshot);

#endif							/* KALAM_KALAMDB_AM_H */
