/*-------------------------------------------------------------------------
 *
 * row_id.h
 *	  kalam.row_id: a 64-bit snowflake id, passed by value.
 *
 * Layout, from the most significant bit: 0 (sign), 41 bits of milliseconds
 * since 2024-01-01 00:00 UTC, 10 bits of node number, 12 bits of sequence.
 * Valid row ids are therefore exactly the int64 values >= 0, and their
 * numeric order is their time order.
 *
 *-------------------------------------------------------------------------
 */
#ifndef ROW_ID_H
#define ROW_ID_H

#define ROW_ID_SEQUENCE_BITS	12
#define ROW_ID_NODE_BITS		10
#define ROW_ID_TIME_SHIFT		(ROW_ID_SEQUENCE_BITS + ROW_ID_NODE_BITS)
#define ROW_ID_MAX				PG_INT64_MAX

/* 2024-01-01 00:00:00 UTC in PostgreSQL's timestamp microseconds */
#define ROW_ID_EPOCH_USECS		INT64CONST(757382400000000)

#endif							/* ROW_ID_H */
