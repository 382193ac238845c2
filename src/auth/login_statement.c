/*-------------------------------------------------------------------------
 *
 * login_statement.c
 *	  Keeping the statement of a login, password and all, out of sight.
 *
 * kalam.login('bob', 'his password') is a statement like any other:
 * pg_stat_activity shows it to every session of the same role (many
 * kalam users may share one) while bcrypt runs, and an error raised
 * during it (a failed login) goes to the server log with the statement
 * (log_min_error_statement).  So a login replaces the text
 * pg_stat_activity shows, and errors raised until its transaction ends
 * are logged without the statement.  What is left to the administrator:
 * log_statement and log_min_duration_statement, which log statements as
 * such, and bound parameters (log_parameter_max_length): see README.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "fmgr.h"
#include "utils/backend_status.h"
#include "utils/elog.h"

static bool login_statement_hidden = false;
static bool hooks_installed = false;
static emit_log_hook_type prev_emit_log_hook = NULL;

#define HIDDEN_LOGIN_STATEMENT "-- a kalamdb login (its statement is hidden)"

static void
hide_statement_of_error(ErrorData *edata)
{
	if (login_statement_hidden)
		edata->hide_stmt = true;
	if (prev_emit_log_hook)
		prev_emit_log_hook(edata);
}

/* the error of a failed login is emitted before its transaction ends */
static void
end_of_login(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT ||
		event == XACT_EVENT_PARALLEL_COMMIT || event == XACT_EVENT_PARALLEL_ABORT ||
		event == XACT_EVENT_PREPARE)
		login_statement_hidden = false;
}

/*
 * kalam._hide_login_statement(): called first thing by a login, for the
 * rest of its transaction
 */
PG_FUNCTION_INFO_V1(kalam_hide_login_statement);
Datum
kalam_hide_login_statement(PG_FUNCTION_ARGS)
{
	if (!hooks_installed)
	{
		prev_emit_log_hook = emit_log_hook;
		emit_log_hook = hide_statement_of_error;
		RegisterXactCallback(end_of_login, NULL);
		hooks_installed = true;
	}
	login_statement_hidden = true;
	pgstat_report_activity(STATE_RUNNING, HIDDEN_LOGIN_STATEMENT);
	PG_RETURN_VOID();
}
