/*-------------------------------------------------------------------------
 *
 * row_length.c
 *	  How much room a row about to be inserted will take on its page.
 *
 * A row is placed before heap forms its tuple, so its length is worked
 * out from its values, as heap_compute_data_size() does.  A row heap will
 * TOAST (heap_toast_insert_or_update()) has no one length until heap has
 * done so: heap compresses or moves out its longest values, EXTENDED and
 * EXTERNAL ones first, until the tuple is down to the table's
 * toast_tuple_target, or else all of them it can.  Whether compressing a
 * value in place gets it there only heap's compression can tell, so such
 * a row has a least length (every value that can go out counted as its
 * pointer) and a most (that, or the target if more).  Were a row placed
 * by its full length, each with a large value would take a page of its
 * own; placed by its least, it may not fit.
 *
 * The most is not known when a value stored out of line elsewhere comes
 * into a MAIN or PLAIN column: heap brings it back in, at a length the
 * row cannot tell.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/detoast.h"
#include "access/heaptoast.h"
#include "access/htup_details.h"
#include "utils/expandeddatum.h"

#include "am/row_length.h"

/* heap moves out only values longer than a pointer's aligned length */
#define MOVABLE_MIN_SIZE	MAXALIGN(TOAST_POINTER_SIZE)

void
row_length(Relation rel, TupleTableSlot *slot, RowLength *length)
{
	TupleDesc	desc = RelationGetDescr(rel);
	bool		has_nulls = false;
	bool		external = false;
	bool		max_known = true;
	Size		movable = 0;	/* bytes TOAST can take out of the row */
	Size		target = RelationGetToastTupleTarget(rel, TOAST_TUPLE_TARGET);
	Size		len;

	slot_getallattrs(slot);
	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		struct varlena *value;
		Size		size;

		if (slot->tts_isnull[i])
		{
			has_nulls = true;
			continue;
		}
		if (att->attlen != -1)
			continue;
		value = (struct varlena *) DatumGetPointer(slot->tts_values[i]);
		if (VARATT_IS_EXTERNAL_EXPANDED(value))
			size = EOH_get_flat_size(DatumGetEOHP(slot->tts_values[i]));
		else if (VARATT_IS_EXTERNAL(value))
		{
			/* counted as its pointer already: where it can go again */
			external = true;
			if (att->attstorage == TYPSTORAGE_PLAIN || att->attstorage == TYPSTORAGE_MAIN)
				max_known = false;
			continue;
		}
		else
			size = VARSIZE_ANY(value);
		if ((att->attstorage == TYPSTORAGE_EXTENDED || att->attstorage == TYPSTORAGE_EXTERNAL) &&
			size > MOVABLE_MIN_SIZE)
			movable += size - TOAST_POINTER_SIZE;
	}
	len = MAXALIGN(SizeofHeapTupleHeader + (has_nulls ? BITMAPLEN(desc->natts) : 0)) +
		heap_compute_data_size(desc, slot->tts_values, slot->tts_isnull);

	/*
	 * heap calls its TOAST code for rows over TOAST_TUPLE_THRESHOLD or with
	 * values out of line, which leaves alone a row already within the
	 * target and stores values in the TOAST table only if there is one
	 */
	length->toasts = OidIsValid(rel->rd_rel->reltoastrelid) &&
		(external || (len > TOAST_TUPLE_THRESHOLD && len > target));
	if (!length->toasts)
	{
		length->len = length->max_len = len;
		length->max_known = true;
		return;
	}

	/*
	 * A value shrunk to a pointer (not aligned) can add padding before the
	 * next aligned one, and a short value's header is shorter on the page
	 */
	length->len = len - Min(movable, len);
	length->max_len = Min(Max(length->len + desc->natts * MAXIMUM_ALIGNOF, target),
						  MaxHeapTupleSize);
	length->max_known = max_known;
}
