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

#endif							/* KALAM_KALAMDB_AM_H */
