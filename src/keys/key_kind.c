/*-------------------------------------------------------------------------
 *
 * key_kind.c
 *	  Validation and canonical form of the string-represented typed keys.
 *
 * One table lists every key kind with its type name, its maximum text
 * length and its parser.  Parsers work on counted bytes, not C strings,
 * so that binary receive can hand them exactly what came over the wire
 * and have it judged exactly like text input.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"

#include "keys/key_kind.h"
#include "keys/job_prefix.h"
#include "keys/user_row_id.h"

typedef struct varlena *(*KeyParser) (KeyKind kind, const char *input, int len);

typedef struct KeyKindInfo
{
	const char *type_name;
	int			max_len;		/* longest accepted text, in bytes */
	KeyParser	parse;
} KeyKindInfo;

static struct varlena *parse_user_id(KeyKind kind, const char *input, int len);
static struct varlena *parse_user_name(KeyKind kind, const char *input, int len);
static struct varlena *parse_identifier(KeyKind kind, const char *input, int len);
static struct varlena *parse_table_id(KeyKind kind, const char *input, int len);
static struct varlena *parse_storage_id(KeyKind kind, const char *input, int len);
static struct varlena *parse_job_id(KeyKind kind, const char *input, int len);
static struct varlena *parse_live_query_id(KeyKind kind, const char *input, int len);
static struct varlena *parse_user_row_id(KeyKind kind, const char *input, int len);

static const KeyKindInfo key_kinds[] = {
	[KEY_USER_ID] = {"kalam.user_id", USER_ID_MAX_LEN, parse_user_id},
	[KEY_USER_NAME] = {"kalam.user_name", USER_NAME_MAX_LEN, parse_user_name},
	[KEY_NAMESPACE_ID] = {"kalam.namespace_id", IDENTIFIER_MAX_LEN, parse_identifier},
	[KEY_TABLE_NAME] = {"kalam.table_name", IDENTIFIER_MAX_LEN, parse_identifier},
	[KEY_TABLE_ID] = {"kalam.table_id", 2 * IDENTIFIER_MAX_LEN + 1, parse_table_id},
	[KEY_STORAGE_ID] = {"kalam.storage_id", STORAGE_ID_MAX_LEN, parse_storage_id},
	[KEY_JOB_ID] = {"kalam.job_id", JOB_ID_LEN, parse_job_id},
	[KEY_LIVE_QUERY_ID] = {"kalam.live_query_id",
		USER_ID_MAX_LEN + 1 + CONNECTION_ID_MAX_LEN + 1 + SUBSCRIPTION_ID_MAX_LEN,
	parse_live_query_id},
	[KEY_USER_ROW_ID] = {"kalam.user_row_id",
		USER_ID_MAX_LEN + 1 + 19,	/* ':' and up to 19 decimal digits */
	parse_user_row_id},
};

const char *
key_type_name(KeyKind kind)
{
	return key_kinds[kind].type_name;
}

/*
 * Quote a rejected value for a message.  Text that is valid in the
 * database encoding and printable is shown as is; anything else (control
 * characters, NUL, bytes that are not valid characters) is shown as \xNN so
 * that the message itself can always be sent to the client.
 */
char *
key_quote_for_message(const char *input, int len)
{
	StringInfoData buf;
	int			shown = Min(len, 64);
	int			i = 0;

	initStringInfo(&buf);
	while (i < shown)
	{
		unsigned char c = (unsigned char) input[i];

		if (c >= 0x20 && c < 0x7f)
		{
			if (c == '"' || c == '\\')
				appendStringInfoChar(&buf, '\\');
			appendStringInfoChar(&buf, c);
			i++;
		}
		else
		{
			int			charlen = 0;

			if (c >= 0x80)
				charlen = pg_encoding_verifymbchar(GetDatabaseEncoding(),
												   input + i, len - i);
			if (charlen > 0)
			{
				/* a valid multibyte character: show it */
				appendBinaryStringInfo(&buf, input + i, charlen);
				i += charlen;
			}
			else
			{
				appendStringInfo(&buf, "\\x%02x", c);
				i++;
			}
		}
	}
	if (len > shown)
		appendStringInfoString(&buf, "...");
	return buf.data;
}

void
key_reject(KeyKind kind, const char *input, int len, const char *detail_fmt,...)
{
	StringInfoData detail;

	initStringInfo(&detail);
	for (;;)
	{
		va_list		args;
		int			needed;

		va_start(args, detail_fmt);
		needed = appendStringInfoVA(&detail, detail_fmt, args);
		va_end(args);
		if (needed == 0)
			break;
		enlargeStringInfo(&detail, needed);
	}

	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("invalid input syntax for type %s: \"%s\"",
					key_kinds[kind].type_name,
					key_quote_for_message(input, len)),
			 errdetail_internal("%s", detail.data)));
	pg_unreachable();
}

/* Describe the byte at position pos for a "not allowed" detail. */
static void
reject_char(KeyKind kind, const char *input, int len, int pos,
			const char *allowed)
{
	unsigned char c = (unsigned char) input[pos];

	if (c == '\0')
		key_reject(kind, input, len,
				   "The value contains a NUL byte at position %d.", pos + 1);
	if (c >= 0x20 && c < 0x7f)
		key_reject(kind, input, len,
				   "Character \"%c\" at position %d is not allowed; allowed are %s.",
				   c, pos + 1, allowed);
	if (c >= 0x80)
	{
		int			charlen = pg_encoding_verifymbchar(GetDatabaseEncoding(),
													   input + pos, len - pos);

		if (charlen > 0)
			key_reject(kind, input, len,
					   "Character \"%.*s\" at position %d is not allowed; allowed are %s.",
					   charlen, input + pos, pos + 1, allowed);
	}
	key_reject(kind, input, len,
			   "Byte 0x%02x at position %d is not allowed; allowed are %s.",
			   c, pos + 1, allowed);
}

/* Allocate a text-like varlena holding len bytes. */
static struct varlena *
make_key(const char *bytes, int len)
{
	struct varlena *result = (struct varlena *) palloc(VARHDRSZ + len);

	SET_VARSIZE(result, VARHDRSZ + len);
	memcpy(VARDATA(result), bytes, len);
	return result;
}

static void
check_user_id_chars(KeyKind kind, const char *input, int len,
					const char *part, int part_len)
{
	for (int i = 0; i < part_len; i++)
	{
		if (!is_user_id_char((unsigned char) part[i]))
			reject_char(kind, input, len, (int) (part - input) + i,
						"ASCII letters, digits, \"_\" and \"-\"");
	}
}

static struct varlena *
parse_user_id(KeyKind kind, const char *input, int len)
{
	check_user_id_chars(kind, input, len, input, len);
	return make_key(input, len);
}

static struct varlena *
parse_user_name(KeyKind kind, const char *input, int len)
{
	for (int i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) input[i];

		if (!is_user_id_char(c) && c != '.')
			reject_char(kind, input, len, i,
						"ASCII letters, digits, \"_\", \".\" and \"-\"");
	}
	return make_key(input, len);
}

/*
 * An identifier (namespace or table name), folded to lower case into out.
 * part/part_len is a slice of input, so positions in messages refer to the
 * whole value.
 */
static void
fold_identifier(KeyKind kind, const char *input, int len,
				const char *part, int part_len, char *out)
{
	if (part_len == 0)
		key_reject(kind, input, len, "%s must not be empty.",
				   kind == KEY_TABLE_ID ? "Neither the namespace nor the table name" : "The value");
	if (part_len > IDENTIFIER_MAX_LEN)
		ereport(ERROR,
				(errcode(ERRCODE_STRING_DATA_RIGHT_TRUNCATION),
				 errmsg("value too long for type %s: \"%s\"",
						key_kinds[kind].type_name,
						key_quote_for_message(input, len)),
				 errdetail("A name may have at most %d bytes.", IDENTIFIER_MAX_LEN)));

	for (int i = 0; i < part_len; i++)
	{
		unsigned char c = (unsigned char) part[i];

		if (c >= 'A' && c <= 'Z')
			c += 'a' - 'A';
		if (!((c >= 'a' && c <= 'z') || c == '_' || (i > 0 && c >= '0' && c <= '9')))
		{
			if (i == 0 && c >= '0' && c <= '9')
				key_reject(kind, input, len,
						   "%s must start with a letter or \"_\".",
						   kind == KEY_TABLE_ID ? "Each name" : "The value");
			reject_char(kind, input, len, (int) (part - input) + i,
						"ASCII letters, digits and \"_\"");
		}
		out[i] = (char) c;
	}
}

static struct varlena *
parse_identifier(KeyKind kind, const char *input, int len)
{
	struct varlena *result = make_key(input, len);

	fold_identifier(kind, input, len, input, len, VARDATA(result));
	return result;
}

/*
 * "namespace.table".  Since "." sorts below every identifier character,
 * byte order of the canonical text is (namespace, table) order.
 */
static struct varlena *
parse_table_id(KeyKind kind, const char *input, int len)
{
	const char *dot = memchr(input, '.', len);
	struct varlena *result;
	int			ns_len;

	if (dot == NULL)
		key_reject(kind, input, len,
				   "A table id is a namespace and a table name separated by \".\".");
	ns_len = (int) (dot - input);
	if (memchr(dot + 1, '.', len - ns_len - 1) != NULL)
		key_reject(kind, input, len,
				   "A table id contains exactly one \".\".");

	result = make_key(input, len);
	fold_identifier(kind, input, len, input, ns_len, VARDATA(result));
	fold_identifier(kind, input, len, dot + 1, len - ns_len - 1,
					VARDATA(result) + ns_len + 1);
	return result;
}

static struct varlena *
parse_storage_id(KeyKind kind, const char *input, int len)
{
	for (int i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) input[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
			reject_char(kind, input, len, i,
						"lower-case ASCII letters, digits, \"_\" and \"-\"");
	}
	return make_key(input, len);
}

static struct varlena *
parse_job_id(KeyKind kind, const char *input, int len)
{
	if (len != JOB_ID_LEN || input[2] != '-')
		key_reject(kind, input, len,
				   "A job id is a two-letter job type prefix, \"-\" and 12 lower-case hexadecimal digits.");
	if (job_prefix_lookup(input) < 0)
		key_reject(kind, input, len,
				   "\"%c%c\" is not a job type prefix; known prefixes are %s.",
				   input[0] >= 0x20 && input[0] < 0x7f ? input[0] : '?',
				   input[1] >= 0x20 && input[1] < 0x7f ? input[1] : '?',
				   job_prefix_list());
	for (int i = 3; i < len; i++)
	{
		unsigned char c = (unsigned char) input[i];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			reject_char(kind, input, len, i, "lower-case hexadecimal digits");
	}
	return make_key(input, len);
}

/*
 * "user:connection:subscription".  ":" cannot occur in any part, so the
 * value splits back into its parts unambiguously, whatever "-" the user id
 * holds.
 */
static struct varlena *
parse_live_query_id(KeyKind kind, const char *input, int len)
{
	const char *first = memchr(input, ':', len);
	const char *second;
	int			user_len,
				conn_len,
				sub_len;

	if (first == NULL)
		key_reject(kind, input, len,
				   "A live query id is user id, connection id and subscription id separated by \":\".");
	second = memchr(first + 1, ':', len - (first + 1 - input));
	if (second == NULL)
		key_reject(kind, input, len,
				   "A live query id is user id, connection id and subscription id separated by \":\".");

	user_len = (int) (first - input);
	conn_len = (int) (second - first - 1);
	sub_len = (int) (len - (second + 1 - input));

	if (user_len == 0 || conn_len == 0 || sub_len == 0)
		key_reject(kind, input, len,
				   "None of user id, connection id and subscription id may be empty.");
	if (user_len > USER_ID_MAX_LEN || conn_len > CONNECTION_ID_MAX_LEN ||
		sub_len > SUBSCRIPTION_ID_MAX_LEN)
		ereport(ERROR,
				(errcode(ERRCODE_STRING_DATA_RIGHT_TRUNCATION),
				 errmsg("value too long for type %s: \"%s\"",
						key_kinds[kind].type_name,
						key_quote_for_message(input, len)),
				 errdetail("The user id may have at most %d bytes, the connection id %d and the subscription id %d.",
						   USER_ID_MAX_LEN, CONNECTION_ID_MAX_LEN, SUBSCRIPTION_ID_MAX_LEN)));

	check_user_id_chars(kind, input, len, input, user_len);
	check_user_id_chars(kind, input, len, first + 1, conn_len);
	check_user_id_chars(kind, input, len, second + 1, sub_len);
	return make_key(input, len);
}

/*
 * "user:row".  The row id is a decimal number (see row_id.c); the result
 * is the binary, byte-comparable layout of user_row_id.h.
 */
static struct varlena *
parse_user_row_id(KeyKind kind, const char *input, int len)
{
	const char *colon = NULL;
	int64		row = 0;
	int			user_len;

	for (int i = len - 1; i >= 0; i--)
	{
		if (input[i] == ':')
		{
			colon = input + i;
			break;
		}
	}
	if (colon == NULL)
		key_reject(kind, input, len,
				   "A user row id is a user id and a row id separated by \":\".");

	user_len = (int) (colon - input);
	if (user_len == 0)
		key_reject(kind, input, len, "The user id must not be empty.");
	if (user_len > USER_ID_MAX_LEN)
		ereport(ERROR,
				(errcode(ERRCODE_STRING_DATA_RIGHT_TRUNCATION),
				 errmsg("value too long for type %s: \"%s\"",
						key_kinds[kind].type_name,
						key_quote_for_message(input, len)),
				 errdetail("The user id may have at most %d bytes.", USER_ID_MAX_LEN)));
	check_user_id_chars(kind, input, len, input, user_len);

	if (colon + 1 == input + len)
		key_reject(kind, input, len, "The row id must not be empty.");
	for (const char *p = colon + 1; p < input + len; p++)
	{
		if (*p < '0' || *p > '9')
			reject_char(kind, input, len, (int) (p - input), "decimal digits after \":\"");
		if (row > (PG_INT64_MAX - (*p - '0')) / 10)
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("value \"%s\" is out of range for type %s",
							key_quote_for_message(input, len), key_kinds[kind].type_name),
					 errdetail("The row id is at most %lld.", (long long) PG_INT64_MAX)));
		row = row * 10 + (*p - '0');
	}

	return (struct varlena *) user_row_id_make(input, user_len, row);
}

struct varlena *
key_parse(KeyKind kind, const char *input, int len)
{
	const KeyKindInfo *info = &key_kinds[kind];

	if (len == 0)
		key_reject(kind, input, len, "The value must not be empty.");
	if (len > info->max_len)
		ereport(ERROR,
				(errcode(ERRCODE_STRING_DATA_RIGHT_TRUNCATION),
				 errmsg("value too long for type %s: \"%s\"",
						info->type_name, key_quote_for_message(input, len)),
				 errdetail("The value has %d bytes; at most %d are allowed.",
						   len, info->max_len)));
	return info->parse(kind, input, len);
}
