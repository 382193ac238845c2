/*-------------------------------------------------------------------------
 *
 * audit_server_log.c
 *	  The server log's copy of the audit log.
 *
 * An entry of system.audit_log goes with its transaction: a login or an
 * execute_as in a transaction that rolls back leaves none.  So
 * kalam._audit() also hands each entry to kalam._log_audit(), which
 * writes it to the server log, where a rollback does not take it back.
 * The line stands alone: without the statement that caused it (which may
 * hold a password) and without the context of the functions it came
 * through (log_min_error_statement counts LOG as above ERROR); and it goes
 * to the server log only, never to the client (client_min_messages =
 * log), who would read the session's previous user in a login's actor.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/builtins.h"

PG_FUNCTION_INFO_V1(kalam_log_audit);
Datum
kalam_log_audit(PG_FUNCTION_ARGS)
{
	ereport(LOG_SERVER_ONLY,
			(errmsg_internal("kalamdb audit: %s", text_to_cstring(PG_GETARG_TEXT_PP(0))),
			 errhidestmt(true),
			 errhidecontext(true)));
	PG_RETURN_VOID();
}
