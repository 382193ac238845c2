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
extern bool effective_user_is_transaction_local(void);

#endif							/* KALAM_EFFECTIVE_USER_H */
