/*-------------------------------------------------------------------------
 *
 * utility_chain.h
 *	  Passing a utility statement on to the next ProcessUtility hook (the
 *	  one installed before ours), or to PostgreSQL's own when there is none.
 *
 *-------------------------------------------------------------------------
 */
#ifndef KALAM_UTILITY_CHAIN_H
#define KALAM_UTILITY_CHAIN_H

#include "tcop/utility.h"

static inline void
kalam_next_process_utility(ProcessUtility_hook_type next, PlannedStmt *pstmt,
						   const char *queryString, bool readOnlyTree,
						   ProcessUtilityContext context, ParamListInfo params,
						   QueryEnvironment *queryEnv, DestReceiver *dest,
						   QueryCompletion *qc)
{
	if (next)
		next(pstmt, queryString, readOnlyTree, context, params, queryEnv, dest, qc);
	else
		standard_ProcessUtility(pstmt, queryString, readOnlyTree, context, params,
								queryEnv, dest, qc);
}

#endif							/* KALAM_UTILITY_CHAIN_H */
