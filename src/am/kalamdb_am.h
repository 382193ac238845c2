/*-------------------------------------------------------------------------
 *
 * kalamdb_am.h
 *	  The kalamdb table access method, as other files see it.
 *
 *-------------------------------------------------------------------------
 */
#ifndef KALAM_KALAMDB_AM_H
#define KALAM_KALAMDB_AM_H

#include "utils/rel.h"

/* Whether rel is stored by the kalamdb access method */
extern bool kalamdb_relation(Relation rel);

/*
 * Lock rel's TOAST table and its indexes as heap's inserts into them will,
 * before choosing a row's page (see kalamdb_am.c)
 */
extern void kalam_lock_toast_relation(Relation rel);

#endif							/* KALAM_KALAMDB_AM_H */
