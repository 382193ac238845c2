/*-------------------------------------------------------------------------
 *
 * password.c
 *	  bcrypt ("$2b$") hashing through libcrypt, verification in constant
 *	  time, and the policy a new password must meet.
 *
 * Verification always performs one bcrypt computation of the configured
 * cost, whether or not there is a stored hash to check against: callers
 * pass NULL for an unknown user, and we then hash against a dummy setting.
 * The dummy is a well-formed "$2b$" string whose checksum no password can
 * produce in practice, so an unknown user costs the same as a wrong
 * password and can never succeed.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <crypt.h>

#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/guc.h"

#include "auth/password.h"

int			kalam_bcrypt_cost = BCRYPT_DEFAULT_COST;

#define BCRYPT_HASH_LEN 60

/* 22 characters of salt and 31 of checksum, in bcrypt's base64 alphabet */
#define DUMMY_SALT_AND_CHECKSUM \
	"kalamdbDummySaltForNoUserkalamdbDummyChecksumNeverMat"
StaticAssertDecl(sizeof(DUMMY_SALT_AND_CHECKSUM) - 1 == 53,
				 "a bcrypt setting has 22 characters of salt and 31 of checksum");

/*
 * Passwords refused outright: the most common ones of 8 or more characters
 * in public breach lists, compared case-insensitively.
 */
static const char *const common_passwords[] = {
	"password", "password1", "password12", "password123", "password1234",
	"passw0rd", "p@ssw0rd", "p@ssword", "12345678", "123456789",
	"1234567890", "0123456789", "87654321", "11111111", "00000000",
	"12341234", "11223344", "qwertyui", "qwertyuiop", "qwerty123",
	"qwerty12", "1qaz2wsx", "1q2w3e4r", "1q2w3e4r5t", "zaq12wsx",
	"asdfghjk", "asdfghjkl", "abcd1234", "abcdefgh", "iloveyou",
	"iloveyou1", "sunshine", "princess", "football", "baseball",
	"welcome1", "welcome123", "letmein1", "trustno1", "superman",
	"starwars", "whatever", "computer", "michelle", "jennifer",
	"changeme", "changeme123", "admin123", "administrator", "root1234",
	"kalamdb1", "kalamdb123", "postgres", "postgres123", "secret123",
	"monkey123", "dragon123", "master123", "shadow123", "123qweasd",
};

void
password_define_gucs(void)
{
	DefineCustomIntVariable("kalam.bcrypt_cost",
							"bcrypt cost (log2 of the rounds) for new password hashes.",
							"Each step doubles the time of hashing and of every login check.",
							&kalam_bcrypt_cost,
							BCRYPT_DEFAULT_COST, BCRYPT_MIN_COST, BCRYPT_MAX_COST,
							PGC_SUSET,
							0,
							NULL, NULL, NULL);
}

static void
check_password_policy(const char *password, int len)
{
	if (len < PASSWORD_MIN_BYTES)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("password is too short"),
				 errdetail("A password has at least %d bytes.", PASSWORD_MIN_BYTES)));
	if (len > PASSWORD_MAX_BYTES)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("password is too long"),
				 errdetail("A password has at most %d bytes; bcrypt ignores anything beyond.",
						   PASSWORD_MAX_BYTES)));
	if (memchr(password, '\0', len) != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("password must not contain NUL bytes")));
	for (int i = 0; i < lengthof(common_passwords); i++)
	{
		if (strlen(common_passwords[i]) == len &&
			pg_strncasecmp(password, common_passwords[i], len) == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("password is too common"),
					 errhint("Choose a password that is not on lists of frequently used passwords.")));
	}
}

static char *
bcrypt_hash(const char *password, int cost)
{
	char		random[16];
	char		setting[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data *data;
	char	   *hash;
	char	   *result;

	if (!pg_strong_random(random, sizeof(random)))
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not generate random bytes for a bcrypt salt")));
	if (crypt_gensalt_rn("$2b$", cost, random, sizeof(random),
						 setting, sizeof(setting)) == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not make a bcrypt salt: %m")));

	data = palloc0(sizeof(struct crypt_data));
	hash = crypt_rn(password, setting, data, sizeof(struct crypt_data));
	if (hash == NULL || strlen(hash) != BCRYPT_HASH_LEN)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("bcrypt hashing failed")));
	result = pstrdup(hash);
	explicit_bzero(data, sizeof(struct crypt_data));
	pfree(data);
	return result;
}

/*
 * kalam.hash_password(password text) returns text: the policy check, then
 * a new "$2b$" hash of the configured cost.
 */
PG_FUNCTION_INFO_V1(kalam_hash_password);
Datum
kalam_hash_password(PG_FUNCTION_ARGS)
{
	text	   *password = PG_GETARG_TEXT_PP(0);
	char	   *plain = text_to_cstring(password);
	char	   *hash;

	check_password_policy(plain, VARSIZE_ANY_EXHDR(password));
	hash = bcrypt_hash(plain, kalam_bcrypt_cost);
	explicit_bzero(plain, strlen(plain));
	PG_RETURN_TEXT_P(cstring_to_text(hash));
}

/* The cost of a "$2x$NN$..." hash, or -1 */
static int
hash_cost(const char *hash)
{
	if (strlen(hash) != BCRYPT_HASH_LEN || hash[0] != '$' || hash[3] != '$' ||
		!isdigit((unsigned char) hash[4]) || !isdigit((unsigned char) hash[5]) || hash[6] != '$')
		return -1;
	return (hash[4] - '0') * 10 + (hash[5] - '0');
}

/*
 * kalam._rehash_password(password text, hash text) returns text: a new hash
 * of the configured cost when hash has another one (kalam.bcrypt_cost was
 * changed since it was made), else NULL.  Called after a successful login,
 * while the password is at hand, so that the user's logins cost what an
 * unknown user's do again.  No policy check: the user has this password
 * already.
 */
PG_FUNCTION_INFO_V1(kalam_rehash_password);
Datum
kalam_rehash_password(PG_FUNCTION_ARGS)
{
	char	   *hash = text_to_cstring(PG_GETARG_TEXT_PP(1));
	char	   *plain;
	char	   *result;

	if (hash_cost(hash) == kalam_bcrypt_cost)
		PG_RETURN_NULL();
	plain = text_to_cstring(PG_GETARG_TEXT_PP(0));
	result = bcrypt_hash(plain, kalam_bcrypt_cost);
	explicit_bzero(plain, strlen(plain));
	PG_RETURN_TEXT_P(cstring_to_text(result));
}

/*
 * kalam.verify_password(password text, hash text) returns boolean.
 *
 * hash may be NULL (unknown user, or a user without a password): the same
 * bcrypt work is done against a dummy setting and the answer is false.
 * The comparison of the computed and stored hashes takes the same time
 * wherever they differ.
 */
PG_FUNCTION_INFO_V1(kalam_verify_password);
Datum
kalam_verify_password(PG_FUNCTION_ARGS)
{
	char	   *plain;
	char		dummy[BCRYPT_HASH_LEN + 1];
	const char *setting;
	bool		have_hash = false;
	struct crypt_data *data;
	const char *computed;
	unsigned char diff = 0;

	/* no password costs the hashing too: every failure costs the same */
	plain = PG_ARGISNULL(0) ? pstrdup("") : text_to_cstring(PG_GETARG_TEXT_PP(0));

	snprintf(dummy, sizeof(dummy), "$2b$%02d$%s", kalam_bcrypt_cost,
			 DUMMY_SALT_AND_CHECKSUM);
	setting = dummy;
	if (!PG_ARGISNULL(1))
	{
		char	   *stored = text_to_cstring(PG_GETARG_TEXT_PP(1));

		if (strlen(stored) == BCRYPT_HASH_LEN && strncmp(stored, "$2", 2) == 0)
		{
			setting = stored;
			have_hash = true;
		}
	}

	data = palloc0(sizeof(struct crypt_data));
	computed = crypt_rn(plain, setting, data, sizeof(struct crypt_data));
	explicit_bzero(plain, strlen(plain));
	if (computed == NULL || strlen(computed) != BCRYPT_HASH_LEN)
	{
		pfree(data);
		PG_RETURN_BOOL(false);
	}

	for (int i = 0; i < BCRYPT_HASH_LEN; i++)
		diff |= (unsigned char) computed[i] ^ (unsigned char) setting[i];
	pfree(data);

	PG_RETURN_BOOL(have_hash && diff == 0 && !PG_ARGISNULL(0));
}
