#!/bin/bash
# bench/auth: how long kalam.authenticate() takes for an existing user with
# a wrong password, an unknown user, a soft-deleted user and the right
# password, in one run.  The four cases are interleaved call by call and
# timed inside the server (clock_timestamp() around each call), so that
# drift and noise hit them alike.
#
#   bash bench/auth/run.sh                 # 40 calls per case, bcrypt cost 12
#   CALLS=100 COST=10 bash bench/auth/run.sh
#
# The three failures must be indistinguishable: their medians within 5% of
# each other.  The right password is shown for scale.

source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/common.sh"
CALLS=${CALLS:-40}
COST=${COST:-12}

kalam_install_deps
kalam_build_install
kalam_cluster_start

DB=kalam_bench
psql -X -q -c "CREATE DATABASE $DB"
psql -X -q -v ON_ERROR_STOP=1 -d "$DB" <<SQL
CREATE EXTENSION kalamdb;
SET kalam.bcrypt_cost = $COST;
SELECT kalam.create_user('alice', 'alice-secret-1');
SELECT kalam.create_user('dropped', 'dropped-secret-1');
SELECT kalam.drop_user('dropped');
-- some other users, so that lookups are not trivially cached
INSERT INTO system.users (user_id, username, password_hash)
SELECT ('u' || i)::kalam.user_id, ('user' || i)::kalam.user_name,
	   (SELECT password_hash FROM system.users WHERE username = 'alice')
FROM generate_series(1, 10000) i;
ANALYZE system.users;
SQL

log "timing $CALLS calls per case, bcrypt cost $COST"
psql -X -q -v ON_ERROR_STOP=1 -d "$DB" <<SQL
SET kalam.bcrypt_cost = $COST;
SET kalam.max_failed_logins = 0;	-- no lockout: every wrong password stays a wrong password
CREATE TABLE timings (n int, what text, ms float8);
-- one transaction per call, as a client would make them
CREATE PROCEDURE measure(calls int) LANGUAGE plpgsql AS \$\$
DECLARE
	cases text[][] := ARRAY[
		['wrong password', 'alice', 'wrong-password-1'],
		['unknown user', 'nobody-here', 'wrong-password-1'],
		['soft-deleted user', 'dropped', 'dropped-secret-1'],
		['right password', 'alice', 'alice-secret-1']];
	t0 timestamptz;
	c int;
BEGIN
	FOR i IN 0..calls LOOP		-- round 0 warms up every path
		FOR k IN 0..3 LOOP
			c := 1 + (i + k) % 4;	-- rotate the order each round
			t0 := clock_timestamp();
			BEGIN
				PERFORM kalam.authenticate(cases[c][2], cases[c][3]);
			EXCEPTION WHEN invalid_password THEN NULL;
			END;
			IF i > 0 THEN
				INSERT INTO timings VALUES (i, cases[c][1],
					extract(epoch FROM clock_timestamp() - t0) * 1000);
			END IF;
			COMMIT;
		END LOOP;
	END LOOP;
END \$\$;
CALL measure($CALLS);

\echo
\echo bench/auth: kalam.authenticate(), bcrypt cost $COST, $CALLS calls per case, server-side time per call
WITH s AS (
	SELECT what, count(*) AS calls,
		   percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS median,
		   percentile_cont(0.1) WITHIN GROUP (ORDER BY ms) AS p10,
		   percentile_cont(0.9) WITHIN GROUP (ORDER BY ms) AS p90,
		   min(ms) AS min, max(ms) AS max
	FROM timings GROUP BY what)
SELECT what AS "case", calls,
	   round(median::numeric, 1) AS "median ms",
	   round(p10::numeric, 1) AS "p10 ms", round(p90::numeric, 1) AS "p90 ms",
	   round(((p90 - p10) / median * 100)::numeric, 1) AS "spread %",
	   round((median / (SELECT median FROM s WHERE what = 'wrong password'))::numeric, 3)
		   AS "/ wrong password"
FROM s
ORDER BY CASE what WHEN 'wrong password' THEN 1 WHEN 'unknown user' THEN 2
				   WHEN 'soft-deleted user' THEN 3 ELSE 4 END;

SELECT round(((max(median) / min(median) - 1) * 100)::numeric, 2) AS "largest gap between failures, %"
FROM (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS median
	  FROM timings WHERE what <> 'right password' GROUP BY what) m;
SQL
