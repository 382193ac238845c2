/*-------------------------------------------------------------------------
 *
 * user_row_id.c
 *	  kalam.user_row_id: output, constructor, accessors and the "rows of
 *	  this user" test that a btree index answers as one range scan.
 *
 * Input goes through key_parse() (key_kind.c) like every string key;
 * comparison and hashing are the byte-order functions of key_compare.c.
 *
 * kalam.user_row_id_owned_by(k, u), also spelled k ^@ u, is true when k
 * belongs to user u.  Its planner support function turns it into
 * k >= (u, 0) AND k <= (u, max) when k is the leading column of a btree
 * index, exactly like text's starts_with.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/stratnum.h"
#include "catalog/pg_am_d.h"
#include "catalog/pg_opfamily.h"
#include "catalog/pg_type_d.h"
#include "fmgr.h"
#include "libpq/pqformat.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "nodes/pg_list.h"
#include "nodes/supportnodes.h"
#include "optimizer/clauses.h"
#include "optimizer/optimizer.h"
#include "catalog/namespace.h"
#include "parser/parse_func.h"
#include "utils/selfuncs.h"
#include "port/pg_bswap.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

#include "kalamdb.h"
#include "keys/key_kind.h"
#include "keys/row_id.h"
#include "keys/user_row_id.h"

struct varlena *
user_row_id_make(const char *user, int user_len, int64 row)
{
	int			len = user_len + 1 + USER_ROW_ID_ROW_BYTES;
	struct varlena *result = (struct varlena *) palloc(VARHDRSZ + len);
	uint64		row_be = pg_hton64((uint64) row);

	Assert(row >= 0);
	SET_VARSIZE(result, VARHDRSZ + len);
	memcpy(VARDATA(result), user, user_len);
	VARDATA(result)[user_len] = '\0';
	memcpy(VARDATA(result) + user_len + 1, &row_be, USER_ROW_ID_ROW_BYTES);
	return result;
}

static int
user_row_id_user_len(struct varlena *key)
{
	return VARSIZE_ANY_EXHDR(key) - 1 - USER_ROW_ID_ROW_BYTES;
}

static int64
user_row_id_row(struct varlena *key)
{
	uint64		row_be;

	memcpy(&row_be, VARDATA_ANY(key) + user_row_id_user_len(key) + 1,
		   USER_ROW_ID_ROW_BYTES);
	return (int64) pg_ntoh64(row_be);
}

static char *
user_row_id_to_text(struct varlena *key)
{
	int			user_len = user_row_id_user_len(key);

	return psprintf("%.*s:" INT64_FORMAT, user_len, VARDATA_ANY(key),
					user_row_id_row(key));
}

PG_FUNCTION_INFO_V1(kalam_user_row_id_out);
Datum
kalam_user_row_id_out(PG_FUNCTION_ARGS)
{
	PG_RETURN_CSTRING(user_row_id_to_text(PG_GETARG_VARLENA_PP(0)));
}

/* Binary form: the text form, so that receive can validate it like input. */
PG_FUNCTION_INFO_V1(kalam_user_row_id_send);
Datum
kalam_user_row_id_send(PG_FUNCTION_ARGS)
{
	char	   *text = user_row_id_to_text(PG_GETARG_VARLENA_PP(0));
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendbytes(&buf, text, strlen(text));
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/* kalam.user_row_id(user_id, row_id) */
PG_FUNCTION_INFO_V1(kalam_user_row_id_construct);
Datum
kalam_user_row_id_construct(PG_FUNCTION_ARGS)
{
	struct varlena *user = PG_GETARG_VARLENA_PP(0);

	PG_RETURN_POINTER(user_row_id_make(VARDATA_ANY(user), VARSIZE_ANY_EXHDR(user),
									   PG_GETARG_INT64(1)));
}

/* kalam.user_of(user_row_id) */
PG_FUNCTION_INFO_V1(kalam_user_row_id_user);
Datum
kalam_user_row_id_user(PG_FUNCTION_ARGS)
{
	struct varlena *key = PG_GETARG_VARLENA_PP(0);

	PG_RETURN_TEXT_P(cstring_to_text_with_len(VARDATA_ANY(key),
											  user_row_id_user_len(key)));
}

/* kalam.row_of(user_row_id) */
PG_FUNCTION_INFO_V1(kalam_user_row_id_row);
Datum
kalam_user_row_id_row(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT64(user_row_id_row(PG_GETARG_VARLENA_PP(0)));
}

/* kalam.user_row_id_first(user_id) and _last(user_id): the user's range */
PG_FUNCTION_INFO_V1(kalam_user_row_id_first);
Datum
kalam_user_row_id_first(PG_FUNCTION_ARGS)
{
	struct varlena *user = PG_GETARG_VARLENA_PP(0);

	PG_RETURN_POINTER(user_row_id_make(VARDATA_ANY(user), VARSIZE_ANY_EXHDR(user), 0));
}

PG_FUNCTION_INFO_V1(kalam_user_row_id_last);
Datum
kalam_user_row_id_last(PG_FUNCTION_ARGS)
{
	struct varlena *user = PG_GETARG_VARLENA_PP(0);

	PG_RETURN_POINTER(user_row_id_make(VARDATA_ANY(user), VARSIZE_ANY_EXHDR(user),
									   ROW_ID_MAX));
}

/* kalam.user_row_id_owned_by(user_row_id, user_id), operator ^@ */
PG_FUNCTION_INFO_V1(kalam_user_row_id_owned_by);
Datum
kalam_user_row_id_owned_by(PG_FUNCTION_ARGS)
{
	struct varlena *key = PG_GETARG_VARLENA_PP(0);
	struct varlena *user = PG_GETARG_VARLENA_PP(1);
	int			user_len = VARSIZE_ANY_EXHDR(user);
	bool		result;

	result = user_row_id_user_len(key) == user_len &&
		memcmp(VARDATA_ANY(key), VARDATA_ANY(user), user_len) == 0;
	PG_FREE_IF_COPY(key, 0);
	PG_FREE_IF_COPY(user, 1);
	PG_RETURN_BOOL(result);
}

/*
 * One bound of the user's range as an expression: a constant when the user
 * is known at plan time, else a call of kalam.user_row_id_first/_last.
 */
static Expr *
range_bound(Node *user, Oid key_type, bool last)
{
	if (IsA(user, Const))
	{
		Const	   *c = (Const *) user;
		struct varlena *u = PG_DETOAST_DATUM_PACKED(c->constvalue);
		struct varlena *bound;

		bound = user_row_id_make(VARDATA_ANY(u), VARSIZE_ANY_EXHDR(u),
								 last ? ROW_ID_MAX : 0);
		return (Expr *) makeConst(key_type, -1, InvalidOid, -1,
								  PointerGetDatum(bound), false, false);
	}
	else
	{
		Oid			user_type = exprType(user);
		Oid			funcid;

		funcid = LookupFuncName(list_make2(makeString(KALAM_SCHEMA),
										   makeString(last ? "user_row_id_last" : "user_row_id_first")),
								1, &user_type, false);
		return (Expr *) makeFuncExpr(funcid, key_type, list_make1(user),
									 InvalidOid, InvalidOid, COERCE_EXPLICIT_CALL);
	}
}

static bool
opfamily_is_btree(Oid opfamily)
{
	HeapTuple	tuple = SearchSysCache1(OPFAMILYOID, ObjectIdGetDatum(opfamily));
	bool		result;

	if (!HeapTupleIsValid(tuple))
		return false;
	result = ((Form_pg_opfamily) GETSTRUCT(tuple))->opfmethod == BTREE_AM_OID;
	ReleaseSysCache(tuple);
	return result;
}

/*
 * Selectivity of the function form, estimated like the ^@ operator:
 * matchingsel() applies the test to the column's statistics.
 */
static Node *
owned_by_selectivity(SupportRequestSelectivity *req)
{
	Oid			argtypes[2];
	Oid			opid;

	if (req->is_join || list_length(req->args) != 2)
		return NULL;
	argtypes[0] = exprType(linitial(req->args));
	argtypes[1] = exprType(lsecond(req->args));
	opid = OpernameGetOprid(list_make2(makeString("pg_catalog"), makeString("^@")),
							argtypes[0], argtypes[1]);
	if (!OidIsValid(opid))
		return NULL;
	req->selectivity = DatumGetFloat8(DirectFunctionCall4(matchingsel,
														  PointerGetDatum(req->root),
														  ObjectIdGetDatum(opid),
														  PointerGetDatum(req->args),
														  Int32GetDatum(req->varRelid)));
	return (Node *) req;
}

PG_FUNCTION_INFO_V1(kalam_user_row_id_owned_by_support);
Datum
kalam_user_row_id_owned_by_support(PG_FUNCTION_ARGS)
{
	Node	   *rawreq = (Node *) PG_GETARG_POINTER(0);
	SupportRequestIndexCondition *req;
	List	   *args;
	Node	   *key;
	Node	   *user;
	Oid			key_type;
	Oid			ge_op;
	Oid			le_op;

	if (IsA(rawreq, SupportRequestSelectivity))
		PG_RETURN_POINTER(owned_by_selectivity((SupportRequestSelectivity *) rawreq));
	if (!IsA(rawreq, SupportRequestIndexCondition))
		PG_RETURN_POINTER(NULL);

	req = (SupportRequestIndexCondition *) rawreq;
	if (req->indexarg != 0)
		PG_RETURN_POINTER(NULL);
	if (is_opclause(req->node))
		args = ((OpExpr *) req->node)->args;
	else if (is_funcclause(req->node))
		args = ((FuncExpr *) req->node)->args;
	else
		PG_RETURN_POINTER(NULL);
	if (list_length(args) != 2)
		PG_RETURN_POINTER(NULL);

	key = (Node *) linitial(args);
	user = (Node *) lsecond(args);

	/* The user must be computable before the scan starts. */
	if ((IsA(user, Const) && ((Const *) user)->constisnull) ||
		contain_volatile_functions(user) ||
		bms_is_member(req->index->rel->relid, pull_varnos(req->root, user)))
		PG_RETURN_POINTER(NULL);

	if (!opfamily_is_btree(req->opfamily))
		PG_RETURN_POINTER(NULL);
	key_type = exprType(key);
	ge_op = get_opfamily_member(req->opfamily, key_type, key_type,
								BTGreaterEqualStrategyNumber);
	le_op = get_opfamily_member(req->opfamily, key_type, key_type,
								BTLessEqualStrategyNumber);
	if (!OidIsValid(ge_op) || !OidIsValid(le_op))
		PG_RETURN_POINTER(NULL);

	/* The range holds exactly the user's keys: no recheck needed. */
	req->lossy = false;
	PG_RETURN_POINTER(list_make2(make_opclause(ge_op, BOOLOID, false, (Expr *) key,
											   range_bound(user, key_type, false),
											   InvalidOid, InvalidOid),
								 make_opclause(le_op, BOOLOID, false, (Expr *) key,
											   range_bound(user, key_type, true),
											   InvalidOid, InvalidOid)));
}
