/*-------------------------------------------------------------------------
 *
 * row_id.c
 *	  kalam.row_id: input/output, comparison, hashing, the monotonic
 *	  generator kalam.new_row_id() and kalam.row_id_time().
 *
 * The generator keeps its last (millisecond, sequence) pair in shared
 * memory under a spinlock, so ids are strictly increasing across every
 * backend of the server.  When 4096 ids were handed out within one
 * millisecond, or the clock goes backwards, it moves on to the next
 * millisecond instead of waiting or repeating.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/hashfn.h"
#include "fmgr.h"
#include "libpq/pqformat.h"
#include "miscadmin.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/builtins.h"
#include "utils/sortsupport.h"
#include "utils/timestamp.h"

#include "kalamdb.h"
#include "keys/key_kind.h"
#include "keys/row_id.h"

#define ROW_ID_TYPE_NAME "kalam.row_id"
#define ROW_ID_MAX_DIGITS 19

typedef struct RowIdGenerator
{
	slock_t		mutex;
	int64		last_ms;		/* milliseconds since the row id epoch */
	int32		sequence;		/* last sequence number used in last_ms */
	int64		clock_ms;		/* the latest clock reading seen */
} RowIdGenerator;

/*
 * How far ahead of the clock ids may run: more than 4096 in a millisecond
 * take the next millisecond's, up to this far; beyond, they wait for the
 * clock.  Shared memory forgets the last id at a restart: the generator
 * starts this far ahead of the clock again, past every id handed out
 * before (unless the clock went back meanwhile).
 */
#define ROW_ID_MAX_LEAD_MS	100

/* milliseconds since the row id epoch, now */
static int64
row_id_clock_ms(void)
{
	return (GetCurrentTimestamp() - ROW_ID_EPOCH_USECS) / 1000;
}

static RowIdGenerator *row_id_generator = NULL;

Size
row_id_shmem_size(void)
{
	return MAXALIGN(sizeof(RowIdGenerator));
}

void
row_id_shmem_init(void)
{
	bool		found;

	row_id_generator = ShmemInitStruct("kalamdb row id generator",
									   sizeof(RowIdGenerator), &found);
	if (!found)
	{
		SpinLockInit(&row_id_generator->mutex);
		row_id_generator->clock_ms = row_id_clock_ms();
		row_id_generator->last_ms = row_id_generator->clock_ms + ROW_ID_MAX_LEAD_MS + 1;
		row_id_generator->sequence = 0;
	}
}

static int64
row_id_parse(const char *input, int len)
{
	int64		value = 0;

	if (len == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid input syntax for type %s: \"\"", ROW_ID_TYPE_NAME),
				 errdetail("The value must not be empty.")));
	/* leading zeros do not count, as in a user row id's row id or an int8 */
	while (len > 1 && input[0] == '0')
	{
		input++;
		len--;
	}
	if (len > ROW_ID_MAX_DIGITS)
		ereport(ERROR,
				(errcode(ERRCODE_STRING_DATA_RIGHT_TRUNCATION),
				 errmsg("value too long for type %s: \"%s\"", ROW_ID_TYPE_NAME,
						key_quote_for_message(input, len)),
				 errdetail("A row id has at most %d digits.", ROW_ID_MAX_DIGITS)));
	for (int i = 0; i < len; i++)
	{
		int			digit = input[i] - '0';

		if (input[i] < '0' || input[i] > '9')
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
					 errmsg("invalid input syntax for type %s: \"%s\"",
							ROW_ID_TYPE_NAME, key_quote_for_message(input, len)),
					 errdetail("A row id is a non-negative decimal number.")));
		if (value > (ROW_ID_MAX - digit) / 10)
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("value \"%s\" is out of range for type %s",
							key_quote_for_message(input, len), ROW_ID_TYPE_NAME),
					 errdetail("The value is out of range for a row id (0 to %lld).",
							   (long long) ROW_ID_MAX)));
		value = value * 10 + digit;
	}
	return value;
}

PG_FUNCTION_INFO_V1(kalam_row_id_in);
Datum
kalam_row_id_in(PG_FUNCTION_ARGS)
{
	const char *str = PG_GETARG_CSTRING(0);

	PG_RETURN_INT64(row_id_parse(str, (int) strlen(str)));
}

PG_FUNCTION_INFO_V1(kalam_row_id_out);
Datum
kalam_row_id_out(PG_FUNCTION_ARGS)
{
	char		buf[MAXINT8LEN + 1];

	pg_lltoa(PG_GETARG_INT64(0), buf);
	PG_RETURN_CSTRING(pstrdup(buf));
}

/* Binary form: the 8-byte integer in network order, and nothing else. */
PG_FUNCTION_INFO_V1(kalam_row_id_recv);
Datum
kalam_row_id_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	int64		value;

	if (buf->len - buf->cursor != sizeof(int64))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid binary input for type %s", ROW_ID_TYPE_NAME),
				 errdetail("The binary form of a row id has 8 bytes, not %d.",
						   buf->len - buf->cursor)));
	value = pq_getmsgint64(buf);
	if (value < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid binary input for type %s: %lld",
						ROW_ID_TYPE_NAME, (long long) value),
				 errdetail("A row id is not negative.")));
	PG_RETURN_INT64(value);
}

PG_FUNCTION_INFO_V1(kalam_row_id_send);
Datum
kalam_row_id_send(PG_FUNCTION_ARGS)
{
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendint64(&buf, PG_GETARG_INT64(0));
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/* Comparison */

#define ROW_ID_OP(suffix, test) \
PG_FUNCTION_INFO_V1(kalam_row_id_##suffix); \
Datum \
kalam_row_id_##suffix(PG_FUNCTION_ARGS) \
{ \
	PG_RETURN_BOOL(PG_GETARG_INT64(0) test PG_GETARG_INT64(1)); \
}

ROW_ID_OP(eq, ==)
ROW_ID_OP(ne, !=)
ROW_ID_OP(lt, <)
ROW_ID_OP(le, <=)
ROW_ID_OP(gt, >)
ROW_ID_OP(ge, >=)

PG_FUNCTION_INFO_V1(kalam_row_id_smaller);
Datum
kalam_row_id_smaller(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT64(Min(PG_GETARG_INT64(0), PG_GETARG_INT64(1)));
}

PG_FUNCTION_INFO_V1(kalam_row_id_larger);
Datum
kalam_row_id_larger(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT64(Max(PG_GETARG_INT64(0), PG_GETARG_INT64(1)));
}

PG_FUNCTION_INFO_V1(kalam_row_id_cmp);
Datum
kalam_row_id_cmp(PG_FUNCTION_ARGS)
{
	int64		a = PG_GETARG_INT64(0);
	int64		b = PG_GETARG_INT64(1);

	PG_RETURN_INT32((a > b) - (a < b));
}

PG_FUNCTION_INFO_V1(kalam_row_id_sortsupport);
Datum
kalam_row_id_sortsupport(PG_FUNCTION_ARGS)
{
	SortSupport ssup = (SortSupport) PG_GETARG_POINTER(0);

	/* A Datum holds the whole value; nothing to abbreviate. */
	ssup->comparator = ssup_datum_signed_cmp;
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(kalam_row_id_hash);
Datum
kalam_row_id_hash(PG_FUNCTION_ARGS)
{
	int64		value = PG_GETARG_INT64(0);

	return hash_uint32((uint32) value ^ (uint32) (value >> 32));
}

PG_FUNCTION_INFO_V1(kalam_row_id_hash_extended);
Datum
kalam_row_id_hash_extended(PG_FUNCTION_ARGS)
{
	int64		value = PG_GETARG_INT64(0);

	return hash_uint32_extended((uint32) value ^ (uint32) (value >> 32),
								PG_GETARG_INT64(1));
}

/* Generator and accessor */

PG_FUNCTION_INFO_V1(kalam_new_row_id);
Datum
kalam_new_row_id(PG_FUNCTION_ARGS)
{
	int64		now_ms;
	int64		ms;
	int32		sequence;

	kalam_require_preload("kalam.new_row_id()");

	for (;;)
	{
		bool		wait = false;

		now_ms = row_id_clock_ms();
		if (now_ms < 0)
			ereport(ERROR,
					(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
					 errmsg("the system clock is before 2024-01-01, the row id epoch")));

		SpinLockAcquire(&row_id_generator->mutex);
		if (now_ms > row_id_generator->last_ms)
		{
			row_id_generator->last_ms = now_ms;
			row_id_generator->sequence = 0;
		}
		else if (row_id_generator->sequence + 1 < (1 << ROW_ID_SEQUENCE_BITS))
			row_id_generator->sequence++;
		else if (row_id_generator->last_ms + 1 - now_ms <= ROW_ID_MAX_LEAD_MS ||
				 now_ms + ROW_ID_MAX_LEAD_MS < row_id_generator->clock_ms)
		{
			/*
			 * The next millisecond's ids; also, however far ahead, when the
			 * clock went back by more than the lead (waiting for it could
			 * take hours): order is kept, ids run ahead of the clock.  (A
			 * reading a moment old, of a backend that waited for the lock,
			 * only makes the lead look longer.)
			 */
			row_id_generator->last_ms++;
			row_id_generator->sequence = 0;
		}
		else
			wait = true;
		row_id_generator->clock_ms = Max(row_id_generator->clock_ms, now_ms);
		ms = row_id_generator->last_ms;
		sequence = row_id_generator->sequence;
		SpinLockRelease(&row_id_generator->mutex);
		if (!wait)
			break;
		/* 4 million ids a second, a tenth of a second ahead: let the clock catch up */
		CHECK_FOR_INTERRUPTS();
		pg_usleep(100);
	}

	if (ms >= (INT64CONST(1) << (63 - ROW_ID_TIME_SHIFT)))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("row ids are exhausted: the 41-bit millisecond counter overflowed")));

	PG_RETURN_INT64((ms << ROW_ID_TIME_SHIFT) |
					((int64) kalam_node_id << ROW_ID_SEQUENCE_BITS) |
					sequence);
}

PG_FUNCTION_INFO_V1(kalam_row_id_time);
Datum
kalam_row_id_time(PG_FUNCTION_ARGS)
{
	int64		value = PG_GETARG_INT64(0);

	PG_RETURN_TIMESTAMPTZ(ROW_ID_EPOCH_USECS + (value >> ROW_ID_TIME_SHIFT) * 1000);
}

PG_FUNCTION_INFO_V1(kalam_row_id_node);
Datum
kalam_row_id_node(PG_FUNCTION_ARGS)
{
	int64		value = PG_GETARG_INT64(0);

	PG_RETURN_INT32((int32) ((value >> ROW_ID_SEQUENCE_BITS) &
							 ((1 << ROW_ID_NODE_BITS) - 1)));
}
