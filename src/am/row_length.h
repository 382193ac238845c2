/*-------------------------------------------------------------------------
 *
 * row_length.h
 *	  How much room a row about to be inserted will take on its page.
 *
 *-------------------------------------------------------------------------
 */
#ifndef KALAM_ROW_LENGTH_H
#define KALAM_ROW_LENGTH_H

#include "executor/tuptable.h"
#include "utils/rel.h"

typedef struct RowLength
{
	Size		len;			/* the least the heap tuple can take */
	Size		max_len;		/* the most */
	bool		toasts;			/* heap will TOAST it: it may store values of it
								 * in the TOAST table */
} RowLength;

/*
 * The length of the heap tuple the slot's row will become once heap has
 * TOASTed it, computed from its values without forming the tuple (heap
 * forms it right after).
 */
extern void row_length(Relation rel, TupleTableSlot *slot, RowLength *length);

#endif							/* KALAM_ROW_LENGTH_H */
