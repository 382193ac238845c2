/*-------------------------------------------------------------------------
 *
 * password.h
 *	  bcrypt password hashing and verification, and the password policy.
 *
 *-------------------------------------------------------------------------
 */
#ifndef KALAM_PASSWORD_H
#define KALAM_PASSWORD_H

#define BCRYPT_MIN_COST			4
#define BCRYPT_MAX_COST			16
#define BCRYPT_DEFAULT_COST		12
#define PASSWORD_MIN_BYTES		8
#define PASSWORD_MAX_BYTES		72	/* bcrypt reads no further */

extern int	kalam_bcrypt_cost;

extern void password_define_gucs(void);

#endif							/* KALAM_PASSWORD_H */
