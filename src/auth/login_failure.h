/*-------------------------------------------------------------------------
 *
 * login_failure.h
 *	  Recording failed logins in a transaction of their own.
 *
 *-------------------------------------------------------------------------
 */
#ifndef KALAM_LOGIN_FAILURE_H
#define KALAM_LOGIN_FAILURE_H

extern void login_failure_define_gucs(void);
extern Size login_failure_shmem_size(void);
extern void login_failure_shmem_request(void);
extern void login_failure_shmem_init(void);

/* In the database's kalamdb worker: record the failed logins queued for it */
extern void login_failures_record_queued(void);

#endif							/* KALAM_LOGIN_FAILURE_H */
