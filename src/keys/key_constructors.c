/*-------------------------------------------------------------------------
 *
 * key_constructors.c
 *	  Functions that make typed keys and take them apart: new_user_id,
 *	  new_job_id / job_type_of, table_id / namespace_of / table_of and
 *	  live_query_id / user_of / connection_of / subscription_of.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"

#include "keys/job_prefix.h"
#include "keys/key_kind.h"

#define NEW_USER_ID_LEN 21

static const char user_id_alphabet[] =
"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";

static void
strong_random(void *buf, size_t len)
{
	if (!pg_strong_random(buf, len))
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not generate random bytes")));
}

static struct varlena *
make_varlena(const char *bytes, int len)
{
	return (struct varlena *) cstring_to_text_with_len(bytes, len);
}

/* kalam.new_user_id(): 21 characters, 126 random bits */
PG_FUNCTION_INFO_V1(kalam_new_user_id);
Datum
kalam_new_user_id(PG_FUNCTION_ARGS)
{
	unsigned char random[NEW_USER_ID_LEN];
	char		id[NEW_USER_ID_LEN];

	StaticAssertStmt(sizeof(user_id_alphabet) - 1 == 64,
					 "user id alphabet must have 64 characters");
	strong_random(random, sizeof(random));
	for (int i = 0; i < NEW_USER_ID_LEN; i++)
		id[i] = user_id_alphabet[random[i] & 63];
	PG_RETURN_POINTER(make_varlena(id, NEW_USER_ID_LEN));
}

/* kalam.new_job_id(job_type): "UC-" and 12 random hex digits */
PG_FUNCTION_INFO_V1(kalam_new_job_id);
Datum
kalam_new_job_id(PG_FUNCTION_ARGS)
{
	char	   *label = DatumGetCString(DirectFunctionCall1(enum_out,
															PG_GETARG_DATUM(0)));
	int			type_index = job_type_lookup(label);
	unsigned char random[6];
	char		id[JOB_ID_LEN + 1];

	if (type_index < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("job type \"%s\" has no job id prefix", label)));

	strong_random(random, sizeof(random));
	snprintf(id, sizeof(id), "%s-%02x%02x%02x%02x%02x%02x",
			 job_type_prefix(type_index),
			 random[0], random[1], random[2], random[3], random[4], random[5]);
	PG_RETURN_POINTER(make_varlena(id, JOB_ID_LEN));
}

/* kalam.job_type_of(job_id) */
PG_FUNCTION_INFO_V1(kalam_job_type_of);
Datum
kalam_job_type_of(PG_FUNCTION_ARGS)
{
	struct varlena *job_id = PG_GETARG_VARLENA_PP(0);
	int			type_index = job_prefix_lookup(VARDATA_ANY(job_id));
	Oid			enum_type = get_fn_expr_rettype(fcinfo->flinfo);

	if (type_index < 0 || !OidIsValid(enum_type))
		elog(ERROR, "job id without a known prefix");
	return DirectFunctionCall2(enum_in,
							   CStringGetDatum(job_type_label(type_index)),
							   ObjectIdGetDatum(enum_type));
}

/* kalam.table_id(namespace_id, table_name) */
PG_FUNCTION_INFO_V1(kalam_table_id_construct);
Datum
kalam_table_id_construct(PG_FUNCTION_ARGS)
{
	struct varlena *ns = PG_GETARG_VARLENA_PP(0);
	struct varlena *table = PG_GETARG_VARLENA_PP(1);
	int			ns_len = VARSIZE_ANY_EXHDR(ns);
	int			table_len = VARSIZE_ANY_EXHDR(table);
	char	   *buf = palloc(ns_len + 1 + table_len);

	memcpy(buf, VARDATA_ANY(ns), ns_len);
	buf[ns_len] = '.';
	memcpy(buf + ns_len + 1, VARDATA_ANY(table), table_len);
	PG_RETURN_POINTER(make_varlena(buf, ns_len + 1 + table_len));
}

static int
table_id_dot(struct varlena *table_id)
{
	const char *dot = memchr(VARDATA_ANY(table_id), '.', VARSIZE_ANY_EXHDR(table_id));

	if (dot == NULL)
		elog(ERROR, "stored table id without \".\"");
	return (int) (dot - VARDATA_ANY(table_id));
}

/* kalam.namespace_of(table_id) */
PG_FUNCTION_INFO_V1(kalam_table_id_namespace);
Datum
kalam_table_id_namespace(PG_FUNCTION_ARGS)
{
	struct varlena *table_id = PG_GETARG_VARLENA_PP(0);

	PG_RETURN_POINTER(make_varlena(VARDATA_ANY(table_id), table_id_dot(table_id)));
}

/* kalam.table_of(table_id) */
PG_FUNCTION_INFO_V1(kalam_table_id_table);
Datum
kalam_table_id_table(PG_FUNCTION_ARGS)
{
	struct varlena *table_id = PG_GETARG_VARLENA_PP(0);
	int			dot = table_id_dot(table_id);

	PG_RETURN_POINTER(make_varlena(VARDATA_ANY(table_id) + dot + 1,
								   VARSIZE_ANY_EXHDR(table_id) - dot - 1));
}

/*
 * kalam.live_query_id(user_id, connection text, subscription text): the
 * connection and subscription parts are validated by parsing the result.
 */
PG_FUNCTION_INFO_V1(kalam_live_query_id_construct);
Datum
kalam_live_query_id_construct(PG_FUNCTION_ARGS)
{
	struct varlena *user = PG_GETARG_VARLENA_PP(0);
	text	   *connection = PG_GETARG_TEXT_PP(1);
	text	   *subscription = PG_GETARG_TEXT_PP(2);
	char	   *joined;

	joined = psprintf("%.*s:%.*s:%.*s",
					  (int) VARSIZE_ANY_EXHDR(user), VARDATA_ANY(user),
					  (int) VARSIZE_ANY_EXHDR(connection), VARDATA_ANY(connection),
					  (int) VARSIZE_ANY_EXHDR(subscription), VARDATA_ANY(subscription));
	PG_RETURN_POINTER(key_parse(KEY_LIVE_QUERY_ID, joined, (int) strlen(joined)));
}

/* Part n (0, 1 or 2) of a live query id */
static Datum
live_query_id_part(struct varlena *id, int part)
{
	const char *start = VARDATA_ANY(id);
	const char *end = start + VARSIZE_ANY_EXHDR(id);

	for (int i = 0; i < part; i++)
		start = (const char *) memchr(start, ':', end - start) + 1;
	{
		const char *stop = memchr(start, ':', end - start);

		if (stop == NULL)
			stop = end;
		return PointerGetDatum(make_varlena(start, (int) (stop - start)));
	}
}

PG_FUNCTION_INFO_V1(kalam_live_query_id_user);
Datum
kalam_live_query_id_user(PG_FUNCTION_ARGS)
{
	return live_query_id_part(PG_GETARG_VARLENA_PP(0), 0);
}

PG_FUNCTION_INFO_V1(kalam_live_query_id_connection);
Datum
kalam_live_query_id_connection(PG_FUNCTION_ARGS)
{
	return live_query_id_part(PG_GETARG_VARLENA_PP(0), 1);
}

PG_FUNCTION_INFO_V1(kalam_live_query_id_subscription);
Datum
kalam_live_query_id_subscription(PG_FUNCTION_ARGS)
{
	return live_query_id_part(PG_GETARG_VARLENA_PP(0), 2);
}
