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
 * A MAIN value stays in the row, compressed if heap needs the room: how
 * far it compresses is measured here, by compressing it as heap will
 * (the same method: the same bytes).  Only rows heap will TOAST pay for
 * that, and only for their MAIN values.
 *
 * A value stored out of line elsewhere (INSERT ... SELECT from a table
 * with TOASTed values) is brought back by heap: into a MAIN or PLAIN
 * column it stays in, at the length its pointer tells.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/detoast.h"
#include "access/heaptoast.h"
#include "access/htup_details.h"
#include "access/toast_internals.h"
#include "executor/tuptable.h"
#include "utils/expandeddatum.h"

#include "am/row_length.h"

/* heap moves out only values longer than a pointer's aligned length */
#define MOVABLE_MIN_SIZE	MAXALIGN(TOAST_POINTER_SIZE)

/*
 * The length of a value as heap stores it in the tuple: a short one gets
 * a one-byte header, unless its column is PLAIN (heap_fill_tuple())
 */
static inline Size
stored_size(Form_pg_attribute att, struct varlena *value)
{
	if (att->attstorage != TYPSTORAGE_PLAIN && VARATT_CAN_MAKE_SHORT(value))
		return VARATT_CONVERTED_SHORT_SIZE(value);
	return VARSIZE_ANY(value);
}

/*
 * What a value stored out of line elsewhere takes once heap has brought it
 * back into a PLAIN column (decompressed) or another (as stored: compressed
 * if it was); MaxHeapTupleSize where that cannot be told
 */
static Size
brought_back_size(Form_pg_attribute att, struct varlena *value)
{
	struct varatt_external pointer;

	if (!VARATT_IS_EXTERNAL_ONDISK(value))
		return MaxHeapTupleSize;
	VARATT_EXTERNAL_GET_POINTER(pointer, value);
	if (att->attstorage == TYPSTORAGE_PLAIN)
		return pointer.va_rawsize;
	return VARATT_EXTERNAL_GET_EXTSIZE(pointer) + VARHDRSZ;
}

/* A MAIN value heap may compress: how heap ranks it, and what it would save */
typedef struct MainValue
{
	int			column;			/* index in the tuple descriptor */
	Size		rank;			/* its length in the tuple heap toasts */
	Size		saved;
	bool		done;			/* compressed in the simulation below */
} MainValue;

/*
 * The bytes heap's compression takes off a MAIN value of the row (stored
 * as size bytes), should heap need the room: 0 if it does not compress.
 */
static Size
main_value_savings(Form_pg_attribute att, Datum value, Size size)
{
	Datum		compressed = toast_compress_datum(value, att->attcompression);
	Size		saved = 0;

	if (DatumGetPointer(compressed) != NULL)
	{
		Size		compressed_size = VARSIZE(DatumGetPointer(compressed));

		if (compressed_size < size)
			saved = size - compressed_size;
		pfree(DatumGetPointer(compressed));
	}
	return saved;
}

/* The tuple heap would insert as it is, if the slot holds one */
static HeapTuple
slot_physical_tuple(TupleTableSlot *slot)
{
	if (TTS_IS_HEAPTUPLE(slot) || TTS_IS_BUFFERTUPLE(slot))
		return ((HeapTupleTableSlot *) slot)->tuple;
	return NULL;
}

void
row_length(Relation rel, TupleTableSlot *slot, RowLength *length)
{
	TupleDesc	desc = RelationGetDescr(rel);
	HeapTuple	physical = slot_physical_tuple(slot);
	bool		has_nulls = false;
	bool		external = false;
	Size		movable = 0;	/* bytes TOAST can take out of the row */
	int			reshaped = 0;	/* values TOAST may shrink or bring back */
	MainValue  *mains = NULL;	/* MAIN values TOAST may compress */
	int			n = 0;
	Size		kept = 0;		/* bytes out-of-line values stay in with */
	Size		back = 0;		/* bytes they all come back with */
	Size		target = RelationGetToastTupleTarget(rel, TOAST_TUPLE_TARGET);
	Size		len;

	/* a tuple heap inserts as it is (heap_prepare_insert()): its length */
	if (physical != NULL && !HeapTupleHasExternal(physical) &&
		physical->t_len <= TOAST_TUPLE_THRESHOLD)
	{
		length->len = length->max_len = physical->t_len;
		length->toasts = false;
		return;
	}

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
			/*
			 * Counted as its pointer: heap brings it back, and where it can
			 * go out again, the row takes the target at most, or the
			 * pointer; into a MAIN or PLAIN column, it stays in
			 */
			size = brought_back_size(att, value);
			external = true;
			reshaped++;
			back = Min(back + size, MaxHeapTupleSize);
			if (att->attstorage == TYPSTORAGE_PLAIN || att->attstorage == TYPSTORAGE_MAIN)
				kept = Min(kept + size, MaxHeapTupleSize);
			else
				kept += TOAST_POINTER_SIZE - Min(VARSIZE_EXTERNAL(value), TOAST_POINTER_SIZE);
			continue;
		}
		else
			size = stored_size(att, value);
		if ((att->attstorage == TYPSTORAGE_EXTENDED || att->attstorage == TYPSTORAGE_EXTERNAL) &&
			size > MOVABLE_MIN_SIZE)
		{
			movable += size - TOAST_POINTER_SIZE;
			reshaped++;
		}
		else if (att->attstorage == TYPSTORAGE_MAIN && size > MOVABLE_MIN_SIZE &&
				 !VARATT_IS_EXTERNAL(value) && !VARATT_IS_COMPRESSED(value))
		{
			if (mains == NULL)
				mains = palloc(sizeof(MainValue) * desc->natts);
			mains[n].column = i;
			mains[n].rank = size;
			mains[n].done = false;
			n++;
		}
	}
	len = MAXALIGN(SizeofHeapTupleHeader + (has_nulls ? BITMAPLEN(desc->natts) : 0)) +
		heap_compute_data_size(desc, slot->tts_values, slot->tts_isnull);

	/*
	 * heap calls its TOAST code for a tuple over TOAST_TUPLE_THRESHOLD or
	 * with values out of line, which leaves alone one already within the
	 * target and stores values in the TOAST table only if there is one.
	 * A slot holding a tuple hands it to heap as it is (with the columns
	 * of its time, its values' headers as they were), which is what heap
	 * tests; once TOASTed, it is formed anew from the values.
	 */
	if (physical != NULL)
	{
		length->toasts = OidIsValid(rel->rd_rel->reltoastrelid) &&
			(HeapTupleHasExternal(physical) ||
			 (physical->t_len > TOAST_TUPLE_THRESHOLD && physical->t_len > target));
		len = Max(len, physical->t_len);
	}
	else
		length->toasts = OidIsValid(rel->rd_rel->reltoastrelid) &&
			(external || (len > TOAST_TUPLE_THRESHOLD && len > target));
	if (!length->toasts)
	{
		/* without a TOAST table, heap brings out-of-line values back in */
		if (external && !OidIsValid(rel->rd_rel->reltoastrelid))
			len = Min(len + back, MaxHeapTupleSize);
		length->len = length->max_len = len;
		if (mains != NULL)
			pfree(mains);
		return;
	}

	/* MAIN values: as far as heap's compression takes them */
	if (n > 0)
	{
		Size		saved = 0;

		for (int j = 0; j < n; j++)
		{
			int			i = mains[j].column;

			mains[j].saved = main_value_savings(TupleDescAttr(desc, i), slot->tts_values[i],
												mains[j].rank);
			saved += mains[j].saved;
		}

		/*
		 * With nothing else TOAST could shrink, the row comes out as heap
		 * compresses its MAIN values: the longest first, while the row is
		 * over the target.  Else it lies between them all compressed and
		 * the target, as for any row heap TOASTs.
		 *
		 * heap measures the row anew after each value; here a compressed
		 * value's alignment is not known, so the length is off by up to
		 * slack.  Where that leaves heap's choice open (the row within
		 * slack of the target), the most is the row as it is there, and
		 * the least the row with the values compressed that heap may yet
		 * compress.
		 */
		if (movable == 0 && !external)
		{
			Size		slack = (Size) n * MAXIMUM_ALIGNOF;
			Size		final = len;
			Size		most = 0;

			for (int compressed = 0; compressed < n; compressed++)
			{
				int			longest = -1;

				if (final + slack <= target)
					break;		/* heap stops here */
				if (final <= target + slack && most == 0)
					most = final + slack;	/* heap may stop here */
				/* heap's pick: the longest, the first of equals in column order */
				for (int j = 0; j < n; j++)
					if (!mains[j].done && (longest < 0 || mains[j].rank > mains[longest].rank))
						longest = j;
				final -= Min(mains[longest].saved, final);
				mains[longest].done = true;
			}
			if (most == 0)
				most = final + slack;
			if (most <= TOAST_TUPLE_TARGET_MAIN)
			{
				pfree(mains);
				length->len = final;
				length->max_len = Min(most, MaxHeapTupleSize);
				return;
			}
		}
		pfree(mains);
		movable += saved;
		reshaped += n;
	}

	/*
	 * A value TOAST shrinks to a pointer (not aligned) or brings back can
	 * add padding before the next aligned one.  TOAST leaves no tuple
	 * longer than a page holds (MAIN values go out last).
	 */
	length->len = Min(len - Min(movable, len), MaxHeapTupleSize);
	length->max_len = Min(Max(length->len + kept + reshaped * MAXIMUM_ALIGNOF,
							  target),
						  MaxHeapTupleSize);
}
