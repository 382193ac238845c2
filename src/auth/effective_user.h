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
 * SET LOCAL, kalam.execute_as(..., true), or a function's SET clause), and
 * the one the session will have once it commits (NULL: unknown)
 */
extern bool effective_user_is_transaction_local(void);
extern const char *effective_user_after_commit(void);

#endif							/* KALAM_EFFECTIVE_USER_H */
