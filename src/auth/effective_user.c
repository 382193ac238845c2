/*-------------------------------------------------------------------------
 *
 * effective_user.c
 *	  The session's effective kalam user, kept in the GUC kalam.user_id.
 *
 * kalam.user_id is PGC_SUSET: an ordinary session cannot SET it, so it
 * cannot claim to be anyone.  It is set by kalam.login() and
 * kalam.execute_as() (through the owner-only primitive
 * kalam._set_effective_user()), or directly by a role that an
 * administrator granted SET ON PARAMETER kalam.user_id (PostgreSQL 15),
 * such as an API server that authenticates users itself.  A transaction
 * that aborts undoes the change, like any SET.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/guc_tables.h"

#include "auth/effective_user.h"
#include "keys/key_kind.h"
#include "live/live_query.h"

char	   *kalam_user_id_guc = NULL;

/*
 * kalam.user_id's entry in the GUC machinery, whose stack tells what a SET
 * made in the current transaction will leave
 */
static struct config_generic *
user_id_option(void)
{
	static struct config_generic *option = NULL;

	if (option == NULL)
	{
#if PG_VERSION_NUM >= 160000
		int			n;
		struct config_generic **options = get_guc_variables(&n);
#else
		struct config_generic **options = get_guc_variables();
		int			n = GetNumConfigOptions();
#endif

		for (int i = 0; i < n && option == NULL; i++)
			if (strcmp(options[i]->name, "kalam.user_id") == 0)
				option = options[i];
	}
	return option;
}

/* A copy of a GUC stack entry, for effective_user_after_commit() to unwind */
typedef struct StackEntry
{
	int			nest_level;
	GucStackState state;
	const char *prior;
	const char *masked;
} StackEntry;

#define MAX_STACK_ENTRIES 64

/*
 * The effective user the session will have once the current transaction
 * commits, every function and subtransaction under way returning and
 * committing first: AtEOXact_GUC()'s unwinding of the setting's stack,
 * level by level, done on a copy.  A SET stays, a SET LOCAL (such as
 * kalam.execute_as(..., true) makes) reverts, a function's SET clause
 * ends with the function.  NULL if the stack is deeper than we follow.
 */
const char *
effective_user_after_commit(void)
{
	struct config_generic *option = user_id_option();
	StackEntry	entries[MAX_STACK_ENTRIES];
	int			n = 0;
	int			top = 0;
	const char *value = kalam_user_id_guc;

	for (GucStack *s = option ? option->stack : NULL; s != NULL; s = s->prev)
	{
		if (n == MAX_STACK_ENTRIES)
			return NULL;
		entries[n].nest_level = s->nest_level;
		entries[n].state = s->state;
		entries[n].prior = s->prior.val.stringval;
		entries[n].masked = s->masked.val.stringval;
		n++;
	}
	for (int level = n > 0 ? entries[0].nest_level : 0; level >= 1; level--)
	{
		while (top < n && entries[top].nest_level >= level)
		{
			StackEntry *e = &entries[top];
			StackEntry *prev = top + 1 < n ? &entries[top + 1] : NULL;

			if (e->state == GUC_SAVE)
				value = e->prior;
			else if (e->nest_level == 1)
			{
				/* the transaction commits */
				if (e->state == GUC_SET_LOCAL)
					value = e->masked;
				else if (e->state == GUC_LOCAL)
					value = e->prior;
			}
			else if (prev == NULL || prev->nest_level < e->nest_level - 1)
			{
				/* nothing set at the level below: the entry moves down */
				e->nest_level--;
				break;
			}
			else
			{
				/* merged into the entry below */
				if (e->state == GUC_SET)
					prev->state = GUC_SET;
				else if (e->state == GUC_LOCAL && prev->state == GUC_SET)
				{
					prev->masked = e->prior;
					prev->state = GUC_SET_LOCAL;
				}
				else if (e->state == GUC_SET_LOCAL)
				{
					prev->masked = e->masked;
					prev->state = GUC_SET_LOCAL;
				}
			}
			top++;
		}
	}
	return value ? value : "";
}

bool
effective_user_is_transaction_local(void)
{
	const char *after = effective_user_after_commit();

	return after == NULL || strcmp(after, kalam_user_id_guc ? kalam_user_id_guc : "") != 0;
}

/*
 * kalam._effective_user_is_local(): whether the effective user is one for
 * this transaction only (execute_as(..., true)), the session's being
 * another
 */
PG_FUNCTION_INFO_V1(kalam_effective_user_is_local);
Datum
kalam_effective_user_is_local(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(effective_user_is_transaction_local());
}

/* Empty (no user) or a valid kalam.user_id; check hooks must not throw. */
static bool
check_user_id(char **newval, void **extra, GucSource source)
{
	const char *value = *newval;
	size_t		len = strlen(value);

	if (len > USER_ID_MAX_LEN)
	{
		GUC_check_errdetail("A user id has at most %d characters.", USER_ID_MAX_LEN);
		return false;
	}
	for (size_t i = 0; i < len; i++)
	{
		if (!is_user_id_char((unsigned char) value[i]))
		{
			GUC_check_errdetail("A user id consists of ASCII letters, digits, \"_\" and \"-\".");
			return false;
		}
	}
	return true;
}

/* A change of the effective user: see live_effective_user_changed() */
static void
assign_user_id(const char *newval, void *extra)
{
	live_effective_user_changed();
}

void
effective_user_define_gucs(void)
{
	DefineCustomStringVariable("kalam.user_id",
							   "The effective kalam user of the session.",
							   "Set by kalam.login() and kalam.execute_as(); only superusers "
							   "and roles granted SET on this parameter can set it directly.",
							   &kalam_user_id_guc,
							   "",
							   PGC_SUSET,
							   GUC_NOT_IN_SAMPLE | GUC_DISALLOW_IN_FILE,
							   check_user_id, assign_user_id, NULL);
}

/* kalam.current_user_id(): the effective user, or NULL when there is none */
PG_FUNCTION_INFO_V1(kalam_current_user_id);
Datum
kalam_current_user_id(PG_FUNCTION_ARGS)
{
	if (kalam_user_id_guc == NULL || kalam_user_id_guc[0] == '\0')
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(kalam_user_id_guc));
}

/*
 * kalam._set_effective_user(user_id, is_local): make user_id (NULL: nobody)
 * the effective user, for the session or, when is_local, until the end of
 * the transaction.  The permission check is the caller's: EXECUTE on this
 * function is revoked from PUBLIC, and only the extension's own SECURITY
 * DEFINER functions call it.
 */
PG_FUNCTION_INFO_V1(kalam_set_effective_user);
Datum
kalam_set_effective_user(PG_FUNCTION_ARGS)
{
	char	   *user_id = PG_ARGISNULL(0) ? "" : text_to_cstring(PG_GETARG_TEXT_PP(0));
	bool		is_local = !PG_ARGISNULL(1) && PG_GETARG_BOOL(1);

	(void) set_config_option("kalam.user_id", user_id,
							 PGC_SUSET, PGC_S_SESSION,
							 is_local ? GUC_ACTION_LOCAL : GUC_ACTION_SET,
							 true, 0, false);
	PG_RETURN_VOID();
}

/*
 * kalam._caller_is_superuser(): whether the role that called into the
 * extension (the current user outside any SECURITY DEFINER function, i.e.
 * the session's role after SET ROLE) is a superuser.  Never inside a
 * security-restricted operation (an index build or VACUUM running a table
 * owner's index functions, a job's statement run as a table's owner):
 * the code running there is the table owner's, whoever the session is.
 */
PG_FUNCTION_INFO_V1(kalam_caller_is_superuser);
Datum
kalam_caller_is_superuser(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(!InSecurityRestrictedOperation() && superuser_arg(GetOuterUserId()));
}

/*
 * kalam._caller_has_privs_of(role): whether that role's privileges are the
 * caller's (pg_has_role(..., 'USAGE')); never inside a security-restricted
 * operation, for the same reason
 */
PG_FUNCTION_INFO_V1(kalam_caller_has_privs_of);
Datum
kalam_caller_has_privs_of(PG_FUNCTION_ARGS)
{
	Oid			role = PG_GETARG_OID(0);

	PG_RETURN_BOOL(!InSecurityRestrictedOperation() && has_privs_of_role(GetOuterUserId(), role));
}

/* kalam._caller_role_name(): that role's name, for the audit log */
PG_FUNCTION_INFO_V1(kalam_caller_role_name);
Datum
kalam_caller_role_name(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(GetUserNameFromId(GetOuterUserId(), false)));
}
