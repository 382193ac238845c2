/*-------------------------------------------------------------------------
 *
 * key_compare.c
 *	  Comparison, hashing and sort support for the varlena typed keys.
 *
 * There are two orderings: byte order (every string key but user_name,
 * and the binary user_row_id, whose layout is built to sort by bytes) and
 * ASCII case-insensitive order (user_name).  Each ordering is written once
 * as an inline comparator, hash and abbreviation; KEY_ORDERING() turns
 * them into the SQL-callable family: cmp, =, <>, <, <=, >, >=, smaller and
 * larger (for min and max), hash, hash_extended and sortsupport.  Several
 * SQL types share one C function.
 *
 * Abbreviated keys: the first 8 bytes (folded for user_name) packed
 * big-endian into a Datum and compared as unsigned integers; HyperLogLog
 * estimates of distinct abbreviations and distinct keys decide whether
 * to give up on abbreviation, as text does.  user_row_id has an
 * abbreviation of its own (KEY_SORT_SUPPORT with user_row_id_abbrev), which
 * packs its layout more densely so that short user ids leave room for the
 * row.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/hashfn.h"
#include "fmgr.h"
#include "lib/hyperloglog.h"
#include "port/pg_bitutils.h"
#include "port/pg_bswap.h"
#include "utils/sortsupport.h"

#include "keys/user_row_id.h"

/* Byte order */

static inline int
bytes_compare(const char *a, int alen, const char *b, int blen)
{
	int			r = memcmp(a, b, Min(alen, blen));

	if (r != 0)
		return r;
	return (alen > blen) - (alen < blen);
}

static inline bool
bytes_equal(const char *a, int alen, const char *b, int blen)
{
	return alen == blen && memcmp(a, b, alen) == 0;
}

static inline uint64
bytes_hash(const char *a, int alen, uint64 seed, bool extended)
{
	if (extended)
		return DatumGetUInt64(hash_any_extended((const unsigned char *) a, alen, seed));
	return DatumGetUInt32(hash_any((const unsigned char *) a, alen));
}

static inline void
bytes_abbrev(const char *a, int alen, char *out)
{
	memcpy(out, a, Min(alen, (int) sizeof(Datum)));
}

/* ASCII case-insensitive order */

/* ASCII upper case to lower case, every other byte unchanged */
static inline unsigned char
fold(unsigned char c)
{
	return (unsigned int) (c - 'A') < 26 ? c + ('a' - 'A') : c;
}

/* Equal bytes need no folding, so only differing bytes are looked up. */
static inline int
ci_compare(const char *a, int alen, const char *b, int blen)
{
	int			n = Min(alen, blen);

	for (int i = 0; i < n; i++)
	{
		unsigned char ca = (unsigned char) a[i];
		unsigned char cb = (unsigned char) b[i];

		if (ca == cb)
			continue;
		ca = fold(ca);
		cb = fold(cb);
		if (ca != cb)
			return (ca > cb) ? 1 : -1;
	}
	return (alen > blen) - (alen < blen);
}

static inline bool
ci_equal(const char *a, int alen, const char *b, int blen)
{
	return alen == blen && ci_compare(a, alen, b, blen) == 0;
}

static inline uint64
ci_hash(const char *a, int alen, uint64 seed, bool extended)
{
	char		stackbuf[256];
	char	   *folded = (alen <= sizeof(stackbuf)) ? stackbuf : palloc(alen);
	uint64		result;

	for (int i = 0; i < alen; i++)
		folded[i] = (char) fold((unsigned char) a[i]);
	result = bytes_hash(folded, alen, seed, extended);
	if (folded != stackbuf)
		pfree(folded);
	return result;
}

static inline void
ci_abbrev(const char *a, int alen, char *out)
{
	int			n = Min(alen, (int) sizeof(Datum));

	for (int i = 0; i < n; i++)
		out[i] = (char) fold((unsigned char) a[i]);
}

/*
 * user_row_id, in byte order, abbreviated by its parts.  The stored layout
 * (user bytes, NUL, row as 8 big-endian bytes) spends 9 bytes on the NUL
 * and the row's leading zero bytes, so its first 8 bytes rarely reach the
 * row.  The abbreviation instead writes, most significant bit first:
 * each user byte in 7 bits (user ids are ASCII letters, digits, "_" and
 * "-", all above 0), a 7-bit 0 for the end of the user, the row's bit
 * length in 6 bits, then the row's bits below its leading 1, cut off at 64
 * bits.  Every field keeps the order of what it encodes (a shorter user is
 * a prefix that ends in the smallest code; among non-negative integers a
 * longer bit length is larger), so the abbreviations are ordered like the
 * keys, and equal abbreviations fall back to the full comparison.
 */
typedef struct AbbrevBits
{
	uint64		value;
	int			free;			/* bits still to fill, from the top */
} AbbrevBits;

static inline void
abbrev_put(AbbrevBits *bits, uint64 field, int width)
{
	if (bits->free <= 0 || width <= 0)
		return;
	if (width > bits->free)
	{
		field >>= width - bits->free;
		width = bits->free;
	}
	bits->free -= width;
	bits->value |= (field & ((UINT64CONST(1) << width) - 1)) << bits->free;
}

static inline void
user_row_id_abbrev(const char *a, int alen, char *out)
{
	AbbrevBits	bits = {0, 64};
	int			user_len = alen - 1 - USER_ROW_ID_ROW_BYTES;
	uint64		row_be;
	uint64		row;
	int			row_bits;

	Assert(user_len >= 0);
	for (int i = 0; i < user_len && bits.free > 0; i++)
	{
		Assert((unsigned char) a[i] > 0 && (unsigned char) a[i] < 0x80);
		abbrev_put(&bits, (unsigned char) a[i], 7);
	}
	abbrev_put(&bits, 0, 7);

	memcpy(&row_be, a + user_len + 1, USER_ROW_ID_ROW_BYTES);
	row = pg_ntoh64(row_be);
	row_bits = row == 0 ? 0 : pg_leftmost_one_pos64(row) + 1;
	abbrev_put(&bits, row_bits, 6);
	abbrev_put(&bits, row, row_bits - 1);

	bits.value = pg_hton64(bits.value);
	memcpy(out, &bits.value, sizeof(Datum));
}

/* Sort support state shared by every ordering */
typedef struct KeySortState
{
	hyperLogLogState abbrev_card;
	hyperLogLogState full_card;
	double		prop_card;		/* required proportion of distinct abbrevs */
	bool		estimating;		/* still counting: not yet committed */
} KeySortState;

/*
 * Beyond this many distinct abbreviations, abbreviation pays for itself
 * whatever follows: stop counting (saves two hashes per key).
 */
#define ABBREV_COMMIT_DISTINCT 100000

static bool
key_abbrev_abort(int memtupcount, SortSupport ssup)
{
	KeySortState *state = (KeySortState *) ssup->ssup_extra;
	double		abbrev_distinct;
	double		key_distinct;

	if (memtupcount < 100)
		return false;

	if (!state->estimating)
		return false;
	abbrev_distinct = Max(estimateHyperLogLog(&state->abbrev_card), 1.0);
	if (abbrev_distinct > ABBREV_COMMIT_DISTINCT)
	{
		state->estimating = false;
		return false;
	}
	key_distinct = Max(estimateHyperLogLog(&state->full_card), 1.0);

	/* Abbreviations that separate about as well as the keys: keep going. */
	if (abbrev_distinct > key_distinct * state->prop_card)
	{
		if (memtupcount > 10000)
			state->prop_card *= 0.65;
		return false;
	}

	/* Poor abbreviations on a large input: the full comparator is cheaper. */
	return true;
}

static void
key_sort_track(KeySortState *state, const char *key, int len, Datum abbrev)
{
	uint32		hash;

	if (!state->estimating)
		return;
	hash = DatumGetUInt32(hash_any((const unsigned char *) key,
								   Min(len, PG_CACHE_LINE_SIZE)));
	addHyperLogLog(&state->full_card, hash);
	hash = DatumGetUInt32(hash_uint32((uint32) abbrev ^ (uint32) (abbrev >> 32)));
	addHyperLogLog(&state->abbrev_card, hash);
}

static void
key_sort_init(SortSupport ssup,
			  int (*full_comparator) (Datum, Datum, SortSupport),
			  Datum (*converter) (Datum, SortSupport))
{
	ssup->comparator = full_comparator;
	if (ssup->abbreviate)
	{
		KeySortState *state;
		MemoryContext oldcontext = MemoryContextSwitchTo(ssup->ssup_cxt);

		state = palloc(sizeof(KeySortState));
		initHyperLogLog(&state->abbrev_card, 10);
		initHyperLogLog(&state->full_card, 10);
		state->prop_card = 0.20;
		state->estimating = true;
		MemoryContextSwitchTo(oldcontext);

		ssup->ssup_extra = state;
		ssup->abbrev_full_comparator = full_comparator;
		ssup->comparator = ssup_datum_unsigned_cmp;
		ssup->abbrev_converter = converter;
		ssup->abbrev_abort = key_abbrev_abort;
	}
}

/*
 * KEY_ORDERING(name, compare, equal, hash, abbrev) defines
 * kalam_<name>_cmp, _eq, _ne, _lt, _le, _gt, _ge, _hash, _hash_extended and
 * _sortsupport.
 */
#define KEY_ARGS \
	struct varlena *a = PG_GETARG_VARLENA_PP(0); \
	struct varlena *b = PG_GETARG_VARLENA_PP(1)

#define KEY_FREE_ARGS \
	PG_FREE_IF_COPY(a, 0); \
	PG_FREE_IF_COPY(b, 1)

#define KEY_COMPARE_OP(name, suffix, compare, test) \
PG_FUNCTION_INFO_V1(kalam_##name##_##suffix); \
Datum \
kalam_##name##_##suffix(PG_FUNCTION_ARGS) \
{ \
	KEY_ARGS; \
	int			c = compare(VARDATA_ANY(a), VARSIZE_ANY_EXHDR(a), \
							VARDATA_ANY(b), VARSIZE_ANY_EXHDR(b)); \
	KEY_FREE_ARGS; \
	PG_RETURN_BOOL(c test 0); \
}

#define KEY_ORDERING(name, compare, equal, hash, abbrev) \
PG_FUNCTION_INFO_V1(kalam_##name##_cmp); \
Datum \
kalam_##name##_cmp(PG_FUNCTION_ARGS) \
{ \
	KEY_ARGS; \
	int			c = compare(VARDATA_ANY(a), VARSIZE_ANY_EXHDR(a), \
							VARDATA_ANY(b), VARSIZE_ANY_EXHDR(b)); \
	KEY_FREE_ARGS; \
	PG_RETURN_INT32(c); \
} \
PG_FUNCTION_INFO_V1(kalam_##name##_eq); \
Datum \
kalam_##name##_eq(PG_FUNCTION_ARGS) \
{ \
	KEY_ARGS; \
	bool		r = equal(VARDATA_ANY(a), VARSIZE_ANY_EXHDR(a), \
						  VARDATA_ANY(b), VARSIZE_ANY_EXHDR(b)); \
	KEY_FREE_ARGS; \
	PG_RETURN_BOOL(r); \
} \
PG_FUNCTION_INFO_V1(kalam_##name##_ne); \
Datum \
kalam_##name##_ne(PG_FUNCTION_ARGS) \
{ \
	KEY_ARGS; \
	bool		r = equal(VARDATA_ANY(a), VARSIZE_ANY_EXHDR(a), \
						  VARDATA_ANY(b), VARSIZE_ANY_EXHDR(b)); \
	KEY_FREE_ARGS; \
	PG_RETURN_BOOL(!r); \
} \
PG_FUNCTION_INFO_V1(kalam_##name##_smaller); \
Datum \
kalam_##name##_smaller(PG_FUNCTION_ARGS) \
{ \
	KEY_ARGS; \
	int			c = compare(VARDATA_ANY(a), VARSIZE_ANY_EXHDR(a), \
							VARDATA_ANY(b), VARSIZE_ANY_EXHDR(b)); \
	PG_RETURN_POINTER(c <= 0 ? a : b); \
} \
PG_FUNCTION_INFO_V1(kalam_##name##_larger); \
Datum \
kalam_##name##_larger(PG_FUNCTION_ARGS) \
{ \
	KEY_ARGS; \
	int			c = compare(VARDATA_ANY(a), VARSIZE_ANY_EXHDR(a), \
							VARDATA_ANY(b), VARSIZE_ANY_EXHDR(b)); \
	PG_RETURN_POINTER(c >= 0 ? a : b); \
} \
KEY_COMPARE_OP(name, lt, compare, <) \
KEY_COMPARE_OP(name, le, compare, <=) \
KEY_COMPARE_OP(name, gt, compare, >) \
KEY_COMPARE_OP(name, ge, compare, >=) \
PG_FUNCTION_INFO_V1(kalam_##name##_hash); \
Datum \
kalam_##name##_hash(PG_FUNCTION_ARGS) \
{ \
	struct varlena *a = PG_GETARG_VARLENA_PP(0); \
	uint32		h = (uint32) hash(VARDATA_ANY(a), VARSIZE_ANY_EXHDR(a), 0, false); \
	PG_FREE_IF_COPY(a, 0); \
	PG_RETURN_UINT32(h); \
} \
PG_FUNCTION_INFO_V1(kalam_##name##_hash_extended); \
Datum \
kalam_##name##_hash_extended(PG_FUNCTION_ARGS) \
{ \
	struct varlena *a = PG_GETARG_VARLENA_PP(0); \
	uint64		h = hash(VARDATA_ANY(a), VARSIZE_ANY_EXHDR(a), \
						 (uint64) PG_GETARG_INT64(1), true); \
	PG_FREE_IF_COPY(a, 0); \
	PG_RETURN_UINT64(h); \
} \
KEY_SORT_SUPPORT(name, compare, abbrev)

/*
 * KEY_SORT_SUPPORT(name, compare, abbrev) defines kalam_<name>_sortsupport:
 * the full comparator and an abbreviation.
 */
#define KEY_SORT_SUPPORT(name, compare, abbrev) \
static int \
name##_sort_compare(Datum x, Datum y, SortSupport ssup) \
{ \
	struct varlena *a = PG_DETOAST_DATUM_PACKED(x); \
	struct varlena *b = PG_DETOAST_DATUM_PACKED(y); \
	int			c = compare(VARDATA_ANY(a), VARSIZE_ANY_EXHDR(a), \
							VARDATA_ANY(b), VARSIZE_ANY_EXHDR(b)); \
	if ((Pointer) a != DatumGetPointer(x)) \
		pfree(a); \
	if ((Pointer) b != DatumGetPointer(y)) \
		pfree(b); \
	return c; \
} \
static Datum \
name##_sort_abbrev(Datum original, SortSupport ssup) \
{ \
	struct varlena *a = PG_DETOAST_DATUM_PACKED(original); \
	Datum		res = 0; \
	abbrev(VARDATA_ANY(a), VARSIZE_ANY_EXHDR(a), (char *) &res); \
	key_sort_track((KeySortState *) ssup->ssup_extra, \
				   VARDATA_ANY(a), VARSIZE_ANY_EXHDR(a), res); \
	if ((Pointer) a != DatumGetPointer(original)) \
		pfree(a); \
	return DatumBigEndianToNative(res); \
} \
PG_FUNCTION_INFO_V1(kalam_##name##_sortsupport); \
Datum \
kalam_##name##_sortsupport(PG_FUNCTION_ARGS) \
{ \
	key_sort_init((SortSupport) PG_GETARG_POINTER(0), \
				  name##_sort_compare, name##_sort_abbrev); \
	PG_RETURN_VOID(); \
}

KEY_ORDERING(bytes_key, bytes_compare, bytes_equal, bytes_hash, bytes_abbrev)
KEY_ORDERING(ci_key, ci_compare, ci_equal, ci_hash, ci_abbrev)
KEY_SORT_SUPPORT(user_row_id, bytes_compare, user_row_id_abbrev)
