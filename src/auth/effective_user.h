/*-------------------------------------------------------------------------
 *
 * effective_user.h
 *	  The session's effective kalam user: GUC kalam.user_id.
 *
 *-------------------------------------------------------------------------
 */
#ifndef KALAM_EFFECTIVE_USER_H
#define KALAM_EFFECTIVE_USER_H

extern char *kalam_user_id_guc;

extern void effective_user_define_gucs(void);
/*
 * Whether the effective user reverts when the transaction ends (set with
 * SET LOCAL or kalam.execute_as(..., true)), and the one the session will
 * have once it commits (NULL: not plain yet, as inside a function's SET)
 */
extern bool effective_user_is_transaction_local(void);
extern const char *effective_user_after_commit(void);

#endif							/* KALAM_EFFECTIVE_USER_H */
