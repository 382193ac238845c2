/*-------------------------------------------------------------------------
 *
 * password_statement.c
 *	  Keeping a statement that holds a password out of sight.
 *
 * kalam.login('bob', 'his password') is a statement like any other:
 * pg_stat_activity shows it to every session of the same role (many
 * kalam users may share one) while bcrypt runs, and an error raised
 * during it (a failed login) goes to the server log with the statement
 * (log_min_error_statement) and, for bound parameters, with them in its
 * context (log_parameter_max_length_on_error).  So do create_user and
 * set_password.  Such a function calls kalam._hide_password_statement()
 * first: pg_stat_activity then shows a placeholder, and errors raised
 * until the statement ends (a DO or CALL that commits in between
 * included; a later statement of the same transaction not) are logged
 * without statement or context.  What is left to the administrator:
 * log_statement and log_min_duration_statement, which log statements as
 * such, and log_parameter_max_length: see README.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "fmgr.h"
#include "utils/backend_status.h"
#include "utils/elog.h"

/* the start of the statement to hide (0: none) */
static TimestampTz hidden_statement_start = 0;
static emit_log_hook_type prev_emit_log_hook = NULL;
static bool hook_installed = false;

#define HIDDEN_STATEMENT "-- a kalamdb statement with a password (hidden)"

static void
hide_statement_of_error(ErrorData *edata)
{
	if (hidden_statement_start != 0 &&
		hidden_statement_start == GetCurrentStatementStartTimestamp())
	{
		edata->hide_stmt = true;
		edata->hide_ctx = true;
	}
	if (prev_emit_log_hook)
		prev_emit_log_hook(edata);
}

PG_FUNCTION_INFO_V1(kalam_hide_password_statement);
Datum
kalam_hide_password_statement(PG_FUNCTION_ARGS)
{
	if (!hook_installed)
	{
		prev_emit_log_hook = emit_log_hook;
		emit_log_hook = hide_statement_of_error;
		hook_installed = true;
	}
	hidden_statement_start = GetCurrentStatementStartTimestamp();
	pgstat_report_activity(STATE_RUNNING, HIDDEN_STATEMENT);
	PG_RETURN_VOID();
}
