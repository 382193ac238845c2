/*-------------------------------------------------------------------------
 *
 * live_query.c
 *	  kalam.subscribe() and kalam.unsubscribe(), and removing a session's
 *	  subscriptions when it ends.
 *
 * kalam.subscribe(query) takes a SELECT [columns | *] FROM table [WHERE
 * ...] on a table registered with kalam.register_table, checks that the
 * caller may read it, records the subscription in system.live_queries and
 * LISTENs on a fresh, unguessable channel.  The WHERE clause is analyzed
 * here, in the subscriber's session, and stored as a node tree: writers
 * evaluate exactly that, never text re-parsed in their own session.
 *
 * The functions are SECURITY DEFINER (they write system.live_queries);
 * permissions are checked against the role that called them.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/table.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/dependency.h"
#include "catalog/namespace.h"
#include "catalog/objectaddress.h"
#include "catalog/pg_class.h"
#include "catalog/pg_collation_d.h"
#include "catalog/pg_operator_d.h"
#include "catalog/pg_proc_d.h"
#include "catalog/pg_type_d.h"
#include "commands/async.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/nodeFuncs.h"
#include "nodes/parsenodes.h"
#include "optimizer/optimizer.h"
#include "parser/parse_clause.h"
#include "parser/parse_collate.h"
#include "parser/parse_node.h"
#include "parser/parse_relation.h"
#include "parser/parser.h"
#include "rewrite/rowsecurity.h"
#include "storage/ipc.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/guc.h"
#include "utils/json.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/jsonb.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

#include "auth/effective_user.h"
#include "keys/key_kind.h"
#include "kalamdb.h"
#include "live/live_query.h"
#include "live/live_routes.h"

static bool exit_callback_registered = false;

/*
 * A session's subscriptions belong to the effective user they were made
 * for.  kalam.login(), logout() and execute_as() end them when they give
 * the session another user; so does any other change of kalam.user_id
 * that commits (RESET ALL or DISCARD ALL by a connection pooler between
 * two clients, SET or set_config() by a role granted it): the session
 * would otherwise go on LISTENing on the previous user's channels, and
 * hand the next client that user's changes.  When a transaction that
 * touched kalam.user_id, or subscribed, commits, the session's
 * subscriptions of any user but the one it leaves in place end.
 */
static bool effective_user_touched = false;
static bool user_callback_registered = false;

/*
 * A channel is its subscriber's secret: whoever knows it may LISTEN to it.
 * PostgreSQL prints the channel of an UNLISTEN when asked and again at
 * commit if trace_notify is on, which any role may set, so a client taking
 * over a pooled connection could learn the previous user's channels as
 * the session stops listening to them.  Set when this transaction did so
 * (its channels were made by a subscribe, which registered the transaction
 * callback that looks at this).
 */
static bool channels_unlistened = false;

static void forget_session_subscriptions(bool at_exit, const char *keep_user);

/* UNLISTEN a subscription's channel without tracing it (see above) */
static void
unlisten_quietly(const char *channel)
{
	bool		trace = Trace_notify;

	Trace_notify = false;
	PG_TRY();
	{
		Async_Unlisten(channel);
	}
	PG_FINALLY();
	{
		Trace_notify = trace;
	}
	PG_END_TRY();
	channels_unlistened = true;
}

void
live_effective_user_changed(void)
{
	effective_user_touched = true;
}

static void
end_subscriptions_of_other_users(XactEvent event, void *arg)
{
	if (event != XACT_EVENT_PRE_COMMIT && event != XACT_EVENT_PRE_PREPARE)
	{
		if (event == XACT_EVENT_ABORT)
			channels_unlistened = false;
		return;
	}
	/* DROP EXTENSION took the subscriptions with it */
	if (effective_user_touched && OidIsValid(get_extension_oid("kalamdb", true)))
	{
		/* no statement is running: its queries need a snapshot of their own */
		PushActiveSnapshot(GetTransactionSnapshot());
		forget_session_subscriptions(false, effective_user_after_commit());
		PopActiveSnapshot();
	}
	effective_user_touched = false;

	/*
	 * The commit traces the channels unlistened in the transaction: not
	 * with trace_notify off until it ends (no statement can set it again)
	 */
	if (channels_unlistened)
		(void) set_config_option("trace_notify", "off", PGC_USERSET, PGC_S_SESSION,
								 GUC_ACTION_LOCAL, true, 0, false);
	channels_unlistened = false;
}

static void
reject(const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("a live query cannot have %s", what),
			 errhint("A live query is SELECT columns or * FROM one registered table, with an optional WHERE.")));
}

static bool
func_leakproof(Oid funcid)
{
	return get_func_leakproof(funcid);
}

/*
 * What the WHERE of a live query refers to must last as long as the
 * subscription: other sessions' writes load it and evaluate it, and one
 * that failed to load would fail them all.  The subscription records no
 * dependencies, so it may refer only to what cannot be dropped under it:
 * built-in objects, kalamdb's own, and the types and collations of the
 * table's columns (which their columns keep), with their array types.
 */
typedef struct WhereContext
{
	Relation	rel;
	Oid			extension;		/* kalamdb's OID */
	int			nodes;			/* so far */
	int			columns;		/* column references so far */
	int			elements;		/* list elements so far, in all lists */
	int			depth;			/* of the node being looked at */
} WhereContext;

/*
 * Every write to the table evaluates the WHERE of each subscription that
 * may see the row: its size is a cost on other users' writes, and its
 * depth a risk to their stack (a WHERE of thousands of nested NOTs
 * failed every write with "stack depth limit exceeded").
 */
#define WHERE_MAX_NODES		2000
#define WHERE_MAX_DEPTH		32
#define WHERE_MAX_LIST		1000	/* elements of the lists (IN, ANY), in all */
#define WHERE_MAX_BYTES		(256 * 1024)	/* the plan as stored (constants and all) */
#define WHERE_MAX_COLUMNS	32		/* column references: each is a copy of the
										 * writer's value, however large */
#define WHERE_MAX_SCALAR	1024	/* bytes of a constant that is no array */
#define WHERE_MAX_ARRAY		(64 * 1024) /* bytes of a constant array */

/*
 * A comparison must depend on the row: one of constants alone tells
 * nothing about rows, and costs what its constants make it cost, in every
 * write (a 120 kB string compared with a list of 1000 made each row of
 * another user's write take milliseconds per subscription).  (A function
 * of constants alone is fine: the parser makes int8(5) of a literal
 * compared with a bigint column.)
 */
static void
require_row(Node *node)
{
	if (!contain_var_clause(node))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("each comparison in the WHERE of a live query must involve a column")));
}

static bool
lasting_object(const WhereContext *cxt, Oid classid, Oid objid)
{
	TupleDesc	desc = RelationGetDescr(cxt->rel);

	if (!OidIsValid(objid) || objid < FirstNormalObjectId ||
		getExtensionOfObject(classid, objid) == cxt->extension)
		return true;
	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (att->attisdropped)
			continue;
		if (classid == TypeRelationId &&
			(objid == att->atttypid || objid == get_array_type(att->atttypid)))
			return true;
		if (classid == CollationRelationId && objid == att->attcollation)
			return true;
	}
	return false;
}

static void
require_lasting(const WhereContext *cxt, Oid classid, Oid objid)
{
	/*
	 * A nondeterministic collation fails substring searches at run time
	 * (starts_with(), leakproof as it is): in other users' writes
	 */
	if (classid == CollationRelationId && OidIsValid(objid) && !get_collation_isdeterministic(objid))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("the WHERE of a live query cannot use the nondeterministic %s",
						getObjectDescriptionOids(classid, objid))));
	if (!lasting_object(cxt, classid, objid))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("the WHERE of a live query cannot use %s", getObjectDescriptionOids(classid, objid)),
				 errdetail("It may use built-in types, operators, functions and collations, kalamdb's, "
						   "and the types and collations of the table's columns: other sessions' writes "
						   "evaluate it for as long as the subscription lasts.")));
}

int
live_where_node_objects(Node *node, ObjectAddress *objects)
{
	int			n = 0;

#define NAME(class, oid) \
	do { \
		objects[n].classId = (class); \
		objects[n].objectId = (oid); \
		objects[n].objectSubId = 0; \
		n++; \
	} while (0)

	switch (nodeTag(node))
	{
		case T_Const:
			NAME(TypeRelationId, ((Const *) node)->consttype);
			NAME(CollationRelationId, ((Const *) node)->constcollid);
			break;
		case T_RelabelType:
			NAME(TypeRelationId, ((RelabelType *) node)->resulttype);
			NAME(CollationRelationId, ((RelabelType *) node)->resultcollid);
			break;
		case T_CollateExpr:
			NAME(CollationRelationId, ((CollateExpr *) node)->collOid);
			break;
		case T_CoalesceExpr:
			NAME(TypeRelationId, ((CoalesceExpr *) node)->coalescetype);
			NAME(CollationRelationId, ((CoalesceExpr *) node)->coalescecollid);
			break;
		case T_ArrayCoerceExpr:
			NAME(TypeRelationId, ((ArrayCoerceExpr *) node)->resulttype);
			NAME(CollationRelationId, ((ArrayCoerceExpr *) node)->resultcollid);
			break;
		case T_OpExpr:
		case T_DistinctExpr:
		case T_NullIfExpr:
			NAME(OperatorRelationId, ((OpExpr *) node)->opno);
			NAME(ProcedureRelationId, ((OpExpr *) node)->opfuncid);
			NAME(TypeRelationId, ((OpExpr *) node)->opresulttype);
			NAME(CollationRelationId, ((OpExpr *) node)->opcollid);
			NAME(CollationRelationId, ((OpExpr *) node)->inputcollid);
			break;
		case T_ScalarArrayOpExpr:
			NAME(OperatorRelationId, ((ScalarArrayOpExpr *) node)->opno);
			NAME(ProcedureRelationId, ((ScalarArrayOpExpr *) node)->opfuncid);
			NAME(CollationRelationId, ((ScalarArrayOpExpr *) node)->inputcollid);
			break;
		case T_FuncExpr:
			NAME(ProcedureRelationId, ((FuncExpr *) node)->funcid);
			NAME(TypeRelationId, ((FuncExpr *) node)->funcresulttype);
			NAME(CollationRelationId, ((FuncExpr *) node)->funccollid);
			NAME(CollationRelationId, ((FuncExpr *) node)->inputcollid);
			break;
		case T_ArrayExpr:
			NAME(TypeRelationId, ((ArrayExpr *) node)->array_typeid);
			NAME(TypeRelationId, ((ArrayExpr *) node)->element_typeid);
			NAME(CollationRelationId, ((ArrayExpr *) node)->array_collid);
			break;
		default:
			break;
	}
#undef NAME
	Assert(n <= LIVE_WHERE_MAX_OBJECTS);
	return n;
}

/* each element of a list is a comparison with the row, in every write */
static void
count_list_elements(WhereContext *cxt, int n)
{
	cxt->elements += n;
	if (cxt->elements > WHERE_MAX_LIST)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("the lists in the WHERE of a live query may have at most %d elements in all",
						WHERE_MAX_LIST)));
}

static bool
check_where_walker(Node *node, void *context)
{
	WhereContext *cxt = (WhereContext *) context;
	bool		result;

	if (node == NULL)
		return false;
	if (++cxt->nodes > WHERE_MAX_NODES || cxt->depth >= WHERE_MAX_DEPTH)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("the WHERE of a live query is too large"),
				 errdetail("It may have at most %d parts, nested at most %d deep: other users' writes evaluate it.",
						   WHERE_MAX_NODES, WHERE_MAX_DEPTH)));
	switch (nodeTag(node))
	{
		case T_Var:
			/* the change trigger evaluates it on the row alone */
			if (((Var *) node)->varattno <= 0)
				ereport(ERROR,
						(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						 errmsg("a live query cannot use system columns")));
			if (++cxt->columns > WHERE_MAX_COLUMNS)
				ereport(ERROR,
						(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
						 errmsg("the WHERE of a live query may refer to columns at most %d times",
								WHERE_MAX_COLUMNS)));
			break;
		case T_Const:
			{
				Const	   *c = (Const *) node;
				bool		is_array = type_is_array(c->consttype);

				if (c->constisnull)
					break;
				if (is_array)
					count_list_elements(cxt, ArrayGetNItems(ARR_NDIM(DatumGetArrayTypeP(c->constvalue)),
															ARR_DIMS(DatumGetArrayTypeP(c->constvalue))));
				if (datumGetSize(c->constvalue, c->constbyval, c->constlen) >
					(is_array ? WHERE_MAX_ARRAY : WHERE_MAX_SCALAR))
					ereport(ERROR,
							(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
							 errmsg("a constant in the WHERE of a live query may take at most %d bytes (a list, %d)",
									WHERE_MAX_SCALAR, WHERE_MAX_ARRAY)));
				break;
			}
		case T_ArrayCoerceExpr:
			/* an IN list of a varchar column; a chain of them rebuilds the list at each step */
			if (IsA(((ArrayCoerceExpr *) node)->arg, ArrayCoerceExpr))
				ereport(ERROR,
						(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						 errmsg("the WHERE of a live query cannot cast a list more than once")));
			break;
		case T_RelabelType:
		case T_CoalesceExpr:
		case T_CaseTestExpr:
		case T_BoolExpr:
		case T_NullTest:
		case T_BooleanTest:
		case T_List:
			break;
		case T_OpExpr:
		case T_DistinctExpr:
		case T_NullIfExpr:
			{
				OpExpr	   *op = (OpExpr *) node;

				set_opfuncid(op);
				if (!func_leakproof(op->opfuncid))
					goto not_leakproof;
				require_row(node);
				break;
			}
		case T_ScalarArrayOpExpr:
			{
				ScalarArrayOpExpr *op = (ScalarArrayOpExpr *) node;

				set_sa_opfuncid(op);
				if (!func_leakproof(op->opfuncid))
					goto not_leakproof;
				require_row(node);
				/* a list that is a column is walked in full, however long */
				if (contain_var_clause(lsecond(op->args)))
					ereport(ERROR,
							(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
							 errmsg("a list in the WHERE of a live query must be of constants")));
				/*
				 * IN and NOT IN: equality looks at the lengths first; an
				 * ordering against each element of a list (x < ANY (...),
				 * which says no more than one comparison) goes over the
				 * writer's value each time, however large
				 */
				{
					char	   *name = get_opname(op->opno);

					if (name == NULL || (strcmp(name, "=") != 0 && strcmp(name, "<>") != 0))
						ereport(ERROR,
								(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
								 errmsg("a list in the WHERE of a live query may only be compared with = or <>")));
				}
				break;
			}
		case T_FuncExpr:
			{
				FuncExpr   *func = (FuncExpr *) node;

				if (!func_leakproof(func->funcid))
					goto not_leakproof;
				/*
				 * A cast is cheap; a function of the writer's value, leakproof
				 * as it may be, costs what the value makes it cost, in every
				 * write (md5() of a 1 MB column, 32 times: 65 ms a row)
				 */
				if (func->funcformat != COERCE_EXPLICIT_CAST &&
					func->funcformat != COERCE_IMPLICIT_CAST && contain_var_clause(node))
					ereport(ERROR,
							(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
							 errmsg("the WHERE of a live query may call functions on constants only"),
							 errhint("Compare the columns themselves, or cast them.")));
				break;
			}
		case T_ArrayExpr:
			{
				ArrayExpr  *array = (ArrayExpr *) node;

				count_list_elements(cxt, list_length(array->elements));
				/* rows of differing lengths fail at run time, in writers */
				if (array->multidims)
					ereport(ERROR,
							(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
							 errmsg("the WHERE of a live query cannot build multidimensional arrays")));
				break;
			}
		default:
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("this expression cannot be used in the WHERE of a live query"),
					 errdetail("The WHERE of a live query may use columns, constants, AND, OR, NOT, "
							   "IS NULL, IN lists and leakproof operators and functions.")));
	}
	{
		ObjectAddress objects[LIVE_WHERE_MAX_OBJECTS];
		int			n = live_where_node_objects(node, objects);

		for (int i = 0; i < n; i++)
			require_lasting(cxt, objects[i].classId, objects[i].objectId);
	}
	cxt->depth++;
	result = expression_tree_walker(node, check_where_walker, context);
	cxt->depth--;
	return result;

not_leakproof:
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("the WHERE of a live query may only use leakproof operators and functions"),
			 errdetail("It runs within other sessions' writes, where it must neither fail nor reveal anything.")));
	return true;
}

void
live_check_where(Node *where, Relation rel)
{
	WhereContext cxt;

	cxt.rel = rel;
	cxt.extension = get_extension_oid("kalamdb", false);
	cxt.nodes = 0;
	cxt.columns = 0;
	cxt.elements = 0;
	cxt.depth = 0;
	(void) check_where_walker(where, &cxt);
}

/* The SELECT of the query, checked to be of the supported shape. */
static SelectStmt *
parse_live_select(const char *query)
{
	List	   *stmts = raw_parser(query, RAW_PARSE_DEFAULT);
	SelectStmt *select;

	if (list_length(stmts) != 1 ||
		!IsA(((RawStmt *) linitial(stmts))->stmt, SelectStmt))
		ereport(ERROR,
				(errcode(ERRCODE_SYNTAX_ERROR),
				 errmsg("a live query is a single SELECT statement")));
	select = (SelectStmt *) ((RawStmt *) linitial(stmts))->stmt;
	if (select->op != SETOP_NONE)
		reject("UNION, INTERSECT or EXCEPT");
	if (select->withClause)
		reject("WITH");
	if (select->distinctClause)
		reject("DISTINCT");
	if (select->intoClause)
		reject("INTO");
	if (select->groupClause || select->havingClause)
		reject("GROUP BY or HAVING");
	if (select->windowClause)
		reject("WINDOW");
	if (select->sortClause || select->limitCount || select->limitOffset)
		reject("ORDER BY, LIMIT or OFFSET");
	if (select->lockingClause)
		reject("FOR UPDATE or FOR SHARE");
	if (select->valuesLists)
		reject("VALUES");
	if (list_length(select->fromClause) != 1 || !IsA(linitial(select->fromClause), RangeVar))
		reject("anything but a single table in FROM");
	return select;
}

/*
 * Each column once: every write builds the payload of the columns listed
 * (a list of 2000 failed every write to the table, "number of columns
 * exceeds limit")
 */
static List *
add_projected_column(List *columns, const char *name)
{
	ListCell   *lc;

	foreach(lc, columns)
		if (strcmp(strVal(lfirst(lc)), name) == 0)
			ereport(ERROR,
					(errcode(ERRCODE_DUPLICATE_COLUMN),
					 errmsg("column \"%s\" is listed twice in a live query", name)));
	return lappend(columns, makeString(pstrdup(name)));
}

/* The projected column names: all for "*", else the plain columns listed. */
static List *
projected_columns(SelectStmt *select, Relation rel)
{
	List	   *columns = NIL;
	ListCell   *lc;
	TupleDesc	desc = RelationGetDescr(rel);

	foreach(lc, select->targetList)
	{
		ResTarget  *target = (ResTarget *) lfirst(lc);
		ColumnRef  *ref;
		Node	   *last;

		if (!IsA(target->val, ColumnRef) || target->name != NULL)
			reject("expressions or aliases in its column list");
		ref = (ColumnRef *) target->val;
		last = (Node *) llast(ref->fields);
		if (IsA(last, A_Star))
		{
			for (int i = 0; i < desc->natts; i++)
			{
				Form_pg_attribute att = TupleDescAttr(desc, i);

				if (!att->attisdropped)
					columns = add_projected_column(columns, NameStr(att->attname));
			}
			continue;
		}
		if (list_length(ref->fields) != 1)
			reject("qualified column names");
		if (get_attnum(RelationGetRelid(rel), strVal(last)) <= 0)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("column \"%s\" does not exist", strVal(last)),
					 errdetail("A live query projects the table's own columns.")));
		columns = add_projected_column(columns, strVal(last));
	}
	return columns;
}

static char *
random_hex(int bytes)
{
	unsigned char buf[32];
	char	   *out = palloc(bytes * 2 + 1);

	Assert(bytes <= sizeof(buf));
	if (!pg_strong_random(buf, bytes))
		ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR), errmsg("could not generate random bytes")));
	for (int i = 0; i < bytes; i++)
		sprintf(out + i * 2, "%02x", buf[i]);
	return out;
}

/* The connection part of this session's live query ids: pid and start. */
static char *
connection_id(void)
{
	return psprintf("%d-%llx", MyProcPid, (unsigned long long) MyStartTimestamp);
}

/* kalam._live_connection_id() */
PG_FUNCTION_INFO_V1(kalam_live_connection_id);
Datum
kalam_live_connection_id(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(connection_id()));
}

/* See live_query.h */
void
live_act_as_catalog_owner(Oid *save_user, int *save_sec)
{
	Oid			catalog = get_relname_relid("live_queries", get_namespace_oid("system", false));
	HeapTuple	classtup = SearchSysCache1(RELOID, ObjectIdGetDatum(catalog));
	Oid			catalog_owner;

	if (!HeapTupleIsValid(classtup))
		elog(ERROR, "cache lookup failed for system.live_queries");
	catalog_owner = ((Form_pg_class) GETSTRUCT(classtup))->relowner;
	ReleaseSysCache(classtup);
	GetUserIdAndSecContext(save_user, save_sec);
	SetUserIdAndSecContext(catalog_owner,
						   *save_sec | SECURITY_LOCAL_USERID_CHANGE | SECURITY_RESTRICTED_OPERATION);
}

/*
 * Remove this session's subscriptions, but for keep_user's (NULL: all),
 * through kalam._live_forget_own_session(), called as the catalog's owner
 * (no one else may call it: it would let a session drop its rows without
 * releasing their routes); release their routes, at once or at commit.
 * In a read-only transaction, which cannot remove them, stop listening to
 * them only (they go when the session ends): their channels, which any
 * role could LISTEN to, stay out of reach of the session's next user.
 */
static void
forget_session_subscriptions(bool at_exit, const char *keep_user)
{
	Datum		args[1] = {keep_user ? CStringGetTextDatum(keep_user) : (Datum) 0};
	Oid			types[1] = {TEXTOID};
	char		nulls[1] = {keep_user ? ' ' : 'n'};
	bool		read_only = XactReadOnly && !at_exit;
	Oid			save_user;
	int			save_sec;

	live_act_as_catalog_owner(&save_user, &save_sec);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute_with_args(read_only ?
							  "SELECT NULL::oid, NULL::text, channel FROM kalam._live_own_session_channels($1)" :
							  "SELECT * FROM kalam._live_forget_own_session($1)",
							  1, types, args, nulls, read_only, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not remove the session's live queries");
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		Oid			relid;
		char	   *owner;
		char	   *channel = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 3);

		if (read_only)
		{
			unlisten_quietly(channel);
			continue;
		}
		live_route_of_spi_row(i, &relid, &owner);
		if (at_exit)
			live_route_change_now(MyDatabaseId, relid, owner, (int) strlen(owner), -1);
		else
		{
			live_route_change_at_commit(relid, owner, (int) strlen(owner), -1);
			unlisten_quietly(channel);
		}
	}
	SPI_finish();
	SetUserIdAndSecContext(save_user, save_sec);
}

static void
remove_session_subscriptions(int code, Datum arg)
{
	/* as temporary tables are removed: in a transaction of our own */
	AbortOutOfAnyTransaction();
	PG_TRY();
	{
		StartTransactionCommand();
		/* the session's default_transaction_read_only is for its own work */
		XactReadOnly = RecoveryInProgress();
		PushActiveSnapshot(GetTransactionSnapshot());
		/* DROP EXTENSION in another session took the subscriptions with it */
		if (OidIsValid(get_extension_oid("kalamdb", true)))
			forget_session_subscriptions(true, NULL);
		PopActiveSnapshot();
		CommitTransactionCommand();
	}
	PG_CATCH();
	{
		/* the stale live query job removes them later */
		EmitErrorReport();
		FlushErrorState();
		AbortOutOfAnyTransaction();
	}
	PG_END_TRY();
}

/*
 * kalam._live_end_session_subscriptions(): the session's effective user
 * changes (login, logout, execute_as): its subscriptions, made for the
 * previous user, end with it.
 */
PG_FUNCTION_INFO_V1(kalam_live_end_session_subscriptions);
Datum
kalam_live_end_session_subscriptions(PG_FUNCTION_ARGS)
{
	if (exit_callback_registered)
		forget_session_subscriptions(false, NULL);
	PG_RETURN_VOID();
}

const char *
live_foreign_read_policy(Relation rel)
{
	ListCell   *lc;

	if (!rel->rd_rel->relrowsecurity || rel->rd_rsdesc == NULL)
		return NULL;
	foreach(lc, rel->rd_rsdesc->policies)
	{
		RowSecurityPolicy *policy = (RowSecurityPolicy *) lfirst(lc);

		if ((policy->polcmd == ACL_SELECT_CHR || policy->polcmd == '*') &&
			strcmp(policy->policy_name, "kalam_owner") != 0 &&
			strcmp(policy->policy_name, "kalam_read") != 0)
			return policy->policy_name;
	}
	return NULL;
}

/*
 * The effective user's subscriptions, over all sessions, stay within
 * kalam.max_live_queries_per_user: counted with the latest snapshot,
 * whatever the transaction's own.  Subscribes of the user under way in
 * other sessions at the same moment are not waited for (a subscribe in a
 * transaction left open would hold up all the user's others), so those
 * may each take the last one: a cap on what one user costs writers, not
 * an exact count.
 */
static void
check_subscription_limit(void)
{
	SPIPlanPtr	plan;
	int64		count;
	bool		isnull;

	plan = SPI_prepare("SELECT count(*) FROM system.live_queries WHERE user_id = kalam.current_user_id()",
					   0, NULL);
	if (plan == NULL ||
		SPI_execute_snapshot(plan, NULL, NULL, GetLatestSnapshot(), InvalidSnapshot,
							 true, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not count the user's live queries");
	count = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	if (count >= kalam_max_live_queries_per_user)
		ereport(ERROR,
				(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
				 errmsg("user \"%s\" has too many live queries", kalam_user_id_guc),
				 errdetail("The user has %lld subscriptions; kalam.max_live_queries_per_user is %d.",
						   (long long) count, kalam_max_live_queries_per_user),
				 errhint("End some with kalam.unsubscribe().")));
}

static void
require_schema_usage(Oid namespace, Oid role)
{
	if (pg_namespace_aclcheck(namespace, role, ACL_USAGE) != ACLCHECK_OK)
		aclcheck_error(ACLCHECK_NO_PRIV, OBJECT_SCHEMA, get_namespace_name(namespace));
}

/*
 * kalam.subscribe(query text, options jsonb) returns (live_id, channel)
 */
PG_FUNCTION_INFO_V1(kalam_subscribe);
Datum
kalam_subscribe(PG_FUNCTION_ARGS)
{
	char	   *query;
	Datum		user_options = PG_ARGISNULL(1) ? (Datum) 0 : PG_GETARG_DATUM(1);
	Oid			caller = GetOuterUserId();
	MemoryContext caller_cxt = CurrentMemoryContext;
	SelectStmt *select;
	RangeVar   *rv;
	Relation	rel;
	Oid			relid;
	List	   *columns;
	Node	   *where = NULL;
	char	   *table_id;
	char	   *table_type;
	char	   *access_level;
	char	   *live_id;
	char	   *channel;
	char	   *owner_key;
	const char *foreign_policy;
	StringInfoData options;
	ListCell   *lc;
	TupleDesc	result_desc;
	Datum		values[2];
	bool		nulls[2] = {false, false};

	kalam_require_preload("kalam.subscribe()");
	/* not STRICT, for options' sake */
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("a live query cannot be NULL")));
	query = text_to_cstring(PG_GETARG_TEXT_PP(0));
	if (kalam_user_id_guc == NULL || kalam_user_id_guc[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("subscribing needs an effective user"),
				 errhint("Log in with kalam.login() first.")));
	if (effective_user_is_transaction_local())
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("cannot subscribe while acting as another user for this transaction only"),
				 errdetail("A subscription belongs to the session's effective user and would outlive this one.")));
	if (get_call_result_type(fcinfo, NULL, &result_desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "kalam.subscribe() must return a record");

	select = parse_live_select(query);
	rv = (RangeVar *) linitial(select->fromClause);

	/*
	 * The name is looked up as the extension's owner: the caller must be
	 * allowed to use the schema named before, or the lookup would tell
	 * which of its tables exist; that of an unqualified name, after
	 */
	if (rv->schemaname != NULL)
		require_schema_usage(get_namespace_oid(rv->schemaname, false), caller);
	relid = RangeVarGetRelid(rv, AccessShareLock, false);
	rel = table_open(relid, NoLock);
	if (rv->schemaname == NULL)
		require_schema_usage(RelationGetNamespace(rel), caller);
	if (pg_class_aclcheck(relid, caller, ACL_SELECT) != ACLCHECK_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for table %s", RelationGetRelationName(rel))));
	foreign_policy = live_foreign_read_policy(rel);
	if (foreign_policy != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot watch table %s, which has row-level security policies of its own",
						RelationGetRelationName(rel)),
				 errdetail("Notifications follow kalamdb's access rules only; policy \"%s\" would not hide rows from them.",
						   foreign_policy)));

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	/*
	 * A user drop_user soft-deleted keeps sessions, but subscribes no more.
	 * The row is share-locked until commit: a drop_user under way commits
	 * first (and the user is seen dropped), or waits for this subscription
	 * and then removes it with the user's others.
	 */
	SPI_execute("SELECT 1 FROM system.users "
				"WHERE user_id = kalam.current_user_id() AND deleted_at IS NULL FOR SHARE",
				false, 1);
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("subscribing needs an effective user"),
				 errdetail("User \"%s\" does not exist or has been dropped.", kalam_user_id_guc)));

	check_subscription_limit();

	/* the table's registration */
	{
		Datum		args[1] = {ObjectIdGetDatum(relid)};
		Oid			types[1] = {OIDOID};

		SPI_execute_with_args("SELECT table_id::text, table_type::text, access_level::text "
							  "FROM system.tables WHERE relation = $1::regclass",
							  1, types, args, NULL, true, 1);
		if (SPI_processed == 0)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("table %s is not registered", RelationGetRelationName(rel)),
					 errhint("Live queries watch tables registered with kalam.register_table().")));
		/* copied out: SPI's memory goes away with SPI_finish() */
		table_id = MemoryContextStrdup(caller_cxt, SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1));
		table_type = MemoryContextStrdup(caller_cxt, SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2));
		access_level = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3);
		access_level = access_level ? MemoryContextStrdup(caller_cxt, access_level) : NULL;
	}

	/* a shared table's access level applies to watching it, too */
	if (strcmp(table_type, "shared") == 0 && strcmp(access_level, "public") != 0)
	{
		int			needed = strcmp(access_level, "private") == 0 ? 1 : 2;
		char	   *level;

		/*
		 * The user's role, as delivery checks it (not the database role's
		 * superuser rights, which reading the table would go by): a
		 * subscription belongs to the user
		 */
		SPI_execute("SELECT kalam._role_level(kalam.current_user_role())::text", true, 1);
		level = SPI_processed > 0 ? SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1) : NULL;
		if (level == NULL || atoi(level) < needed)
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("permission denied to watch %s table %s", access_level, table_id)));
	}

	columns = projected_columns(select, rel);
	if (select->whereClause)
	{
		ParseState *pstate = make_parsestate(NULL);
		ParseNamespaceItem *nsitem;

		pstate->p_sourcetext = query;
		nsitem = addRangeTableEntryForRelation(pstate, rel, AccessShareLock, NULL, false, true);
		addNSItemToQuery(pstate, nsitem, false, true, true);
		where = transformWhereClause(pstate, select->whereClause, EXPR_KIND_WHERE, "WHERE");
		assign_expr_collations(pstate, where);
		live_check_where(where, rel);
		free_parsestate(pstate);
	}

	/* the subscription (its names outlive SPI: made in the caller's context) */
	{
		MemoryContext old = MemoryContextSwitchTo(caller_cxt);

		live_id = psprintf("%s:%s:%s", kalam_user_id_guc, connection_id(), random_hex(6));
		channel = psprintf("kalam_%s", random_hex(16));
		MemoryContextSwitchTo(old);
	}
	initStringInfo(&options);
	appendStringInfoString(&options, "{\"columns\": [");
	foreach(lc, columns)
	{
		if (lc != list_head(columns))
			appendStringInfoString(&options, ", ");
		escape_json(&options, strVal(lfirst(lc)));
	}
	appendStringInfoString(&options, "], \"where\": ");
	if (where)
	{
		char	   *plan = nodeToString(where);

		/* loaded by every session that writes to the table */
		if (strlen(plan) > WHERE_MAX_BYTES)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("the WHERE of a live query is too large"),
					 errdetail("Its plan takes %zu bytes; at most %d: other users' writes load it.",
							   strlen(plan), WHERE_MAX_BYTES)));
		escape_json(&options, plan);
	}
	else
		appendStringInfoString(&options, "null");
	/* the role that may read the table: delivery stops if it no longer may */
	appendStringInfo(&options, ", \"role\": %u}", caller);

	{
		Datum		args[8];
		Oid			types[8] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, INT4OID, JSONBOID};
		char		nulls[8] = "       n";

		args[0] = CStringGetTextDatum(live_id);
		args[1] = CStringGetTextDatum(kalam_user_id_guc);
		args[2] = CStringGetTextDatum(table_id);
		args[3] = CStringGetTextDatum(query);
		args[4] = CStringGetTextDatum(options.data);
		args[5] = CStringGetTextDatum(channel);
		args[6] = Int32GetDatum(MyProcPid);
		if (user_options)
		{
			args[7] = user_options;
			nulls[7] = ' ';
		}
		/* the plan is ours; the caller's options are kept apart, as a value */
		if (SPI_execute_with_args("INSERT INTO system.live_queries "
								  "(live_id, user_id, table_id, query, options, channel, backend_pid) "
								  "VALUES ($1::kalam.live_query_id, $2::kalam.user_id, $3::kalam.table_id, "
								  "$4, jsonb_build_object('plan', $5::jsonb, 'client', $8), $6, $7)",
								  8, types, args, nulls, false, 0) != SPI_OK_INSERT)
			elog(ERROR, "could not record the live query");
	}
	SPI_finish();
	table_close(rel, NoLock);

	owner_key = strcmp(table_type, "shared") == 0 ? "" : kalam_user_id_guc;
	live_route_change_at_commit(relid, owner_key, (int) strlen(owner_key), 1);
	Async_Listen(channel);
	if (!exit_callback_registered)
	{
		before_shmem_exit(remove_session_subscriptions, 0);
		exit_callback_registered = true;
	}
	if (!user_callback_registered)
	{
		RegisterXactCallback(end_subscriptions_of_other_users, NULL);
		user_callback_registered = true;
	}
	/* subscriptions of another user the session may still have end at commit */
	effective_user_touched = true;

	values[0] = CStringGetTextDatum(live_id);
	values[1] = CStringGetTextDatum(channel);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(result_desc), values, nulls)));
}

/*
 * kalam.unsubscribe(live_id): one's own subscription (a dba or system user
 * may remove anyone's).
 */
PG_FUNCTION_INFO_V1(kalam_unsubscribe);
Datum
kalam_unsubscribe(PG_FUNCTION_ARGS)
{
	char	   *live_id = text_to_cstring(PG_GETARG_TEXT_PP(0));
	Datum		args[1] = {CStringGetTextDatum(live_id)};
	Oid			types[1] = {TEXTOID};
	bool		isnull;
	Oid			relid;
	char	   *owner;
	char	   *channel;

	kalam_require_preload("kalam.unsubscribe()");
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	SPI_execute_with_args("WITH gone AS (DELETE FROM system.live_queries q "
						  "  WHERE q.live_id = $1::kalam.live_query_id "
						  "    AND (q.user_id = kalam.current_user_id() OR kalam._caller_level() >= 2) "
						  "  RETURNING q.table_id, q.user_id, q.channel) "
						  "SELECT t.relation::oid, CASE WHEN t.table_type = 'shared' THEN '' "
						  "  ELSE g.user_id::text END, g.channel FROM gone g JOIN system.tables t USING (table_id)",
						  1, types, args, NULL, false, 0);
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("live query %s does not exist", live_id)));
	relid = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	owner = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
	channel = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3);
	live_route_change_at_commit(relid, owner, (int) strlen(owner), -1);
	if (strstr(live_id, connection_id()) != NULL)
		unlisten_quietly(channel);
	SPI_finish();			/* owner and channel were used before this */
	PG_RETURN_VOID();
}
