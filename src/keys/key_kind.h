/*-------------------------------------------------------------------------
 *
 * key_kind.h
 *	  The table of string-represented typed keys: which type, how long it
 *	  may be, and how its text is validated and brought to canonical form.
 *
 * Every string key is stored as a varlena holding its canonical text, so
 * output and send are the same for all of them, and comparison is either
 * byte order (most keys) or ASCII case-insensitive order (kalam.user_name).
 *
 *-------------------------------------------------------------------------
 */
#ifndef KEY_KIND_H
#define KEY_KIND_H

#include "postgres.h"

typedef enum KeyKind
{
	KEY_USER_ID,
	KEY_USER_NAME,
	KEY_NAMESPACE_ID,
	KEY_TABLE_NAME,
	KEY_TABLE_ID,
	KEY_STORAGE_ID,
	KEY_JOB_ID,
	KEY_LIVE_QUERY_ID,
	KEY_USER_ROW_ID
} KeyKind;

/* Limits shared with other modules */
#define USER_ID_MAX_LEN			128
#define USER_NAME_MAX_LEN		128
#define IDENTIFIER_MAX_LEN		63
#define STORAGE_ID_MAX_LEN		64
#define JOB_ID_LEN				15	/* "FL-" + 12 hex digits */
#define CONNECTION_ID_MAX_LEN	64
#define SUBSCRIPTION_ID_MAX_LEN 128

/*
 * Parse and validate the text of a key of the given kind, returning the
 * canonical varlena.  Raises 22P02 (or 22001 when too long) naming the type
 * and the value.  The input need not be NUL-terminated and may contain any
 * bytes (it may come from binary COPY).
 */
extern struct varlena *key_parse(KeyKind kind, const char *input, int len);

/* SQL name of the kind's type, e.g. "kalam.user_id" */
extern const char *key_type_name(KeyKind kind);

/* The value quoted for an error message: escaped, cut at 64 bytes. */
extern char *key_quote_for_message(const char *input, int len);

/* Raise 22P02 "invalid input syntax for type ..." with a detail. */
extern void key_reject(KeyKind kind, const char *input, int len,
					   const char *detail_fmt,...) pg_attribute_noreturn()
			pg_attribute_printf(4, 5);

/* Character classes used by several validators */
static inline bool
is_user_id_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		(c >= '0' && c <= '9') || c == '_' || c == '-';
}

#endif							/* KEY_KIND_H */
