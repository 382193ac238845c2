/*-------------------------------------------------------------------------
 *
 * with_type.c
 *	  KalamDB's own spelling of a table's registration:
 *	  CREATE TABLE ... USING kalamdb WITH (type = 'user', ...).
 *
 * A table access method cannot have storage parameters of its own in
 * PostgreSQL 15: heap's are checked whatever the access method, and
 * "type" is not one of them.  A ProcessUtility hook therefore takes the
 * kalamdb options out of a CREATE TABLE that names a type, lets the
 * command run without them, and then registers the new table exactly as
 * kalam.register_table(relation, type, access_level, ttl, storage_id)
 * does; an error there fails the whole statement.  Nothing of the options
 * is stored in pg_class: pg_dump writes a plain CREATE TABLE, and the
 * registration comes back with the system.tables rows, the policies and
 * the triggers, as for any registered table.
 *
 * Only in databases with the extension, and only when "type" is there:
 * anything else reaches PostgreSQL untouched.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type_d.h"
#include "commands/defrem.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "nodes/parsenodes.h"
#include "tcop/utility.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

#include "tables/with_type.h"
#include "utility_chain.h"

/* The options taken out of the statement, in register_table's order */
typedef enum TableOption
{
	OPTION_TYPE,
	OPTION_ACCESS_LEVEL,
	OPTION_TTL,
	OPTION_STORAGE_ID,
	NUM_TABLE_OPTIONS
} TableOption;

static const char *const option_names[NUM_TABLE_OPTIONS] = {
	[OPTION_TYPE] = "type",
	[OPTION_ACCESS_LEVEL] = "access_level",
	[OPTION_TTL] = "ttl",
	[OPTION_STORAGE_ID] = "storage_id",
};

static ProcessUtility_hook_type prev_process_utility = NULL;

static int
option_of(DefElem *def)
{
	if (def->defnamespace != NULL)
		return -1;
	for (int i = 0; i < NUM_TABLE_OPTIONS; i++)
		if (strcmp(def->defname, option_names[i]) == 0)
			return i;
	return -1;
}

static bool
names_a_type(List *options)
{
	ListCell   *lc;

	foreach(lc, options)
		if (option_of((DefElem *) lfirst(lc)) == OPTION_TYPE)
			return true;
	return false;
}

/* The statement's options without ours; ours go to values (NULL: absent) */
static List *
take_table_options(List *options, char **values)
{
	List	   *rest = NIL;
	ListCell   *lc;

	foreach(lc, options)
	{
		DefElem    *def = (DefElem *) lfirst(lc);
		int			option = option_of(def);

		if (option < 0)
		{
			rest = lappend(rest, def);
			continue;
		}
		if (values[option] != NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("parameter \"%s\" specified more than once", def->defname)));
		values[option] = defGetString(def);
	}
	return rest;
}

static void
register_new_table(Oid relid, char **values)
{
	Oid			types[1 + NUM_TABLE_OPTIONS] = {OIDOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID};
	Datum		args[1 + NUM_TABLE_OPTIONS];
	char		nulls[1 + NUM_TABLE_OPTIONS];

	args[0] = ObjectIdGetDatum(relid);
	nulls[0] = ' ';
	for (int i = 0; i < NUM_TABLE_OPTIONS; i++)
	{
		args[1 + i] = values[i] ? CStringGetTextDatum(values[i]) : (Datum) 0;
		nulls[1 + i] = values[i] ? ' ' : 'n';
	}

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	/* KalamDB writes TYPE = 'USER': the enums are lower case */
	if (SPI_execute_with_args("SELECT kalam.register_table($1::pg_catalog.regclass, "
							  "pg_catalog.lower($2)::kalam.table_type, "
							  "pg_catalog.lower($3)::kalam.table_access, "
							  "$4::pg_catalog.interval, "
							  "COALESCE(pg_catalog.lower($5), 'local')::kalam.storage_id)",
							  1 + NUM_TABLE_OPTIONS, types, args, nulls, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not register the new table");
	SPI_finish();
}

static void
kalam_create_table_utility(PlannedStmt *pstmt, const char *queryString, bool readOnlyTree,
						   ProcessUtilityContext context, ParamListInfo params,
						   QueryEnvironment *queryEnv, DestReceiver *dest, QueryCompletion *qc)
{
	Node	   *parsetree = pstmt->utilityStmt;
	PlannedStmt *copy;
	CreateStmt *stmt;
	char	   *values[NUM_TABLE_OPTIONS] = {0};
	Oid			namespace;
	Oid			existing = InvalidOid;

	if (!IsA(parsetree, CreateStmt) ||
		!names_a_type(((CreateStmt *) parsetree)->options) ||
		!OidIsValid(get_extension_oid("kalamdb", true)))
	{
		kalam_next_process_utility(prev_process_utility, pstmt, queryString, readOnlyTree, context,
								   params, queryEnv, dest, qc);
		return;
	}

	/* the statement may belong to a cached plan: change a copy */
	copy = copyObject(pstmt);
	stmt = (CreateStmt *) copy->utilityStmt;
	stmt->options = take_table_options(stmt->options, values);

	/* CREATE TABLE IF NOT EXISTS of a table that exists: nothing to register */
	namespace = RangeVarGetCreationNamespace(stmt->relation);
	if (stmt->if_not_exists)
		existing = get_relname_relid(stmt->relation->relname, namespace);

	kalam_next_process_utility(prev_process_utility, copy, queryString, false, context,
							   params, queryEnv, dest, qc);

	if (!OidIsValid(existing))
	{
		Oid			relid;

		CommandCounterIncrement();
		relid = get_relname_relid(stmt->relation->relname, namespace);
		if (!OidIsValid(relid))
			elog(ERROR, "could not find the new table \"%s\"", stmt->relation->relname);
		register_new_table(relid, values);
	}
}

void
install_create_table_with_type(void)
{
	prev_process_utility = ProcessUtility_hook;
	ProcessUtility_hook = kalam_create_table_utility;
}
