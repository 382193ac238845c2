/*-------------------------------------------------------------------------
 *
 * user_row_id.h
 *	  kalam.user_row_id: a (user_id, row_id) pair in a byte-comparable
 *	  layout.
 *
 * The varlena holds the user id's bytes, one NUL byte, then the row id as
 * 8 big-endian bytes.  NUL sorts below every user id character and row ids
 * are never negative, so plain byte order is (user, row) order, and "all
 * rows of user X" is the single range [X\0 0..0, X\0 7f ff..ff].
 *
 *-------------------------------------------------------------------------
 */
#ifndef USER_ROW_ID_H
#define USER_ROW_ID_H

#define USER_ROW_ID_ROW_BYTES	8

extern struct varlena *user_row_id_make(const char *user, int user_len, int64 row);

#endif							/* USER_ROW_ID_H */
