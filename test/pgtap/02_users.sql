-- pgTAP: users, passwords, logins, the effective user, permissions, the
-- audit log and namespaces.
--
-- Runs without an enclosing transaction: failed logins are recorded by a
-- background worker in a transaction of its own, which only sees committed
-- users.  Everything the file creates is removed at the end.

SET client_min_messages = warning;
SET kalam.bcrypt_cost = 4;		-- fast hashes for the test
SELECT plan(128);

\ir include/helpers.sql
SELECT pg_temp.recreate_roles('{kalam_test_app,kalam_test_api}');

-- the catalog
SELECT has_table('system', t, 'system.' || t || ' exists')
FROM unnest(ARRAY['users', 'namespaces', 'tables', 'storages', 'jobs', 'live_queries', 'audit_log']) t;
-- live queries, looked up by the user they belong to, are stored by the
-- kalamdb access method: each user's subscriptions on pages of their own
SELECT is((SELECT string_agg(c.relname || ' ' || a.amname, ', ' ORDER BY c.relname)
		   FROM pg_class c JOIN pg_am a ON a.oid = c.relam
		   WHERE c.relnamespace = 'system'::regnamespace AND c.relkind = 'r'),
		  'audit_log heap, jobs heap, live_queries kalamdb, namespaces heap, storages heap, tables heap, users heap',
		  'system.live_queries uses the kalamdb access method, the other catalog tables heap');

-- the bootstrap user
SELECT results_eq($$SELECT user_id::text, role::text, password_hash IS NULL FROM system.users WHERE username = 'root'$$,
				  $$VALUES ('root', 'system', true)$$, 'root exists, role system, no password');
SELECT throws_ok($$SELECT kalam.login('root', 'anything at all')$$, '28P01', 'password authentication failed',
				 'root cannot log in before a password is set');

-- creating users
SELECT kalam.create_user('alice', 'alice-secret-1', 'user', 'alice@example.com') AS alice \gset
SELECT kalam.create_user('bob', 'bob-secret-12', 'user') AS bob \gset
SELECT kalam.create_user('carol', 'carol-secret-1', 'dba') AS carol \gset
SELECT kalam.create_user('dave', 'dave-secret-12', 'service') AS dave \gset
SELECT kalam.create_user('erin', 'erin-secret-12', 'system') AS erin \gset
SELECT kalam.create_user('frank', 'frank-secret-1', 'user') AS frank \gset
SELECT matches(:'alice'::text, '^[A-Za-z0-9_-]{21}$', 'create_user returns a new 21-character user id');
SELECT matches((SELECT password_hash FROM system.users WHERE username = 'alice'), '^\$2b\$04\$',
			   'the password is stored as a bcrypt $2b$ hash of the configured cost');
SELECT throws_ok($$SELECT kalam.create_user('x1', 'short')$$, '22023', 'password is too short', 'too short');
SELECT throws_ok(format('SELECT kalam.create_user(%L, %L)', 'x2', repeat('p', 73)), '22023', 'password is too long', 'too long');
SELECT throws_ok($$SELECT kalam.create_user('x3', 'Password123')$$, '22023', 'password is too common', 'common password');
SELECT throws_ok($$SELECT kalam.create_user(NULL, 'a long enough password')$$, '22004', NULL,
				 'no NULL user name (nor the hash of the password in an error''s detail)');
SELECT throws_ok($$SELECT kalam.create_user('ALICE', 'another-secret-1')$$, '23505',
				 'user name "ALICE" is already taken', 'user names are unique regardless of case');
SELECT throws_ok($$SELECT kalam.create_user('bad name', 'another-secret-1')$$, '22P02', NULL,
				 'an invalid user name is refused by its type');

-- authentication
SELECT is(kalam.authenticate('alice', 'alice-secret-1')::text, :'alice', 'the right password returns the user id');
SELECT is(kalam.authenticate('ALICE', 'alice-secret-1')::text, :'alice', 'the user name is case-insensitive');

-- the four failures look the same
SELECT kalam.drop_user('frank');
UPDATE system.users SET locked_until = now() + interval '1 hour' WHERE username = 'dave';
SELECT throws_ok($$SELECT kalam.authenticate('alice', 'wrong-password-1')$$, '28P01', 'password authentication failed', 'wrong password');
SELECT throws_ok($$SELECT kalam.authenticate('nobody', 'wrong-password-1')$$, '28P01', 'password authentication failed', 'unknown user');
SELECT throws_ok($$SELECT kalam.authenticate('frank', 'frank-secret-1')$$, '28P01', 'password authentication failed', 'dropped user, right password');
SELECT throws_ok($$SELECT kalam.authenticate('dave', 'dave-secret-12')$$, '28P01', 'password authentication failed', 'locked user, right password');
SELECT throws_ok($$SELECT kalam.authenticate('no such name!', 'x')$$, '28P01', 'password authentication failed', 'a name that is not even valid');
UPDATE system.users SET locked_until = NULL WHERE username = 'dave';

-- failures are recorded although the failing statement rolled back
SELECT is((SELECT failed_login_attempts FROM system.users WHERE username = 'alice'), 1,
		  'a wrong password counts as a failed attempt');
SELECT is((SELECT array_agg(details->>'reason' ORDER BY audit_id) FROM system.audit_log WHERE action = 'login.failure'),
		  ARRAY['no_password', 'wrong_password', 'unknown_user', 'dropped_user', 'locked_user', 'unknown_user'],
		  'every failure is in the audit log with its reason');
SELECT is((SELECT count(*) FROM system.audit_log WHERE action = 'login.failure' AND details::text ~* 'secret|password-1'),
		  0::bigint, 'no password is ever written to the audit log');
SELECT kalam.authenticate('alice', 'alice-secret-1');
SELECT is((SELECT failed_login_attempts FROM system.users WHERE username = 'alice'), 0,
		  'a successful login resets the count');

-- after kalam.bcrypt_cost changes, a successful login renews the hash
SET kalam.bcrypt_cost = 5;
SELECT is(kalam.authenticate('alice', 'alice-secret-1')::text, :'alice', 'a login after the cost changed');
SELECT is((SELECT substr(password_hash, 1, 7) FROM system.users WHERE username = 'alice'), '$2b$05$',
		  'renews the hash at the new cost');
SELECT is((SELECT details->>'rehashed' FROM system.audit_log WHERE action = 'login.success'
		   ORDER BY audit_id DESC LIMIT 1), 'true', 'and says so in the audit log');
SELECT is(kalam.authenticate('alice', 'alice-secret-1')::text, :'alice', 'the renewed hash lets the user in');
SELECT is((SELECT details->>'rehashed' FROM system.audit_log WHERE action = 'login.success'
		   ORDER BY audit_id DESC LIMIT 1), NULL, 'without renewing it again');
SET kalam.bcrypt_cost = 4;

-- lockout after 5 failures in a row
DO $$ BEGIN FOR i IN 1..5 LOOP
	BEGIN PERFORM kalam.authenticate('bob', 'wrong-password-1'); EXCEPTION WHEN invalid_password THEN NULL; END;
END LOOP; END $$;
SELECT ok((SELECT locked_until > now() + interval '14 minutes' AND failed_login_attempts = 5
		   FROM system.users WHERE username = 'bob'), 'five failures in a row lock the account for 15 minutes');
SELECT throws_ok($$SELECT kalam.authenticate('bob', 'bob-secret-12')$$, '28P01', 'password authentication failed',
				 'a locked account refuses even the right password');
SELECT kalam.unlock_user('bob');
SELECT is(kalam.authenticate('bob', 'bob-secret-12')::text, :'bob', 'unlock_user lets the user in again');
UPDATE system.users SET failed_login_attempts = 5, locked_until = now() - interval '1 minute' WHERE username = 'bob';
SELECT is(kalam.authenticate('bob', 'bob-secret-12')::text, :'bob', 'so does a lock that has run out');
UPDATE system.users SET failed_login_attempts = 5, locked_until = now() - interval '1 minute' WHERE username = 'bob';
SELECT throws_ok($$SELECT kalam.authenticate('bob', 'wrong-password-1')$$, '28P01', NULL, 'a wrong password after a lock ran out');
SELECT ok((SELECT failed_login_attempts = 1 AND locked_until IS NULL FROM system.users WHERE username = 'bob'),
		  'counts as the first of a new run, not as the sixth: no new lock');
UPDATE system.users SET failed_login_attempts = 0 WHERE username = 'bob';
-- a transaction-wide snapshot would not see the lock that failures made
-- since it was taken: logins are checked in READ COMMITTED only
SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL REPEATABLE READ;
SELECT throws_ok($$SELECT kalam.authenticate('bob', 'bob-secret-12')$$, '0A000',
				 'logins are checked in READ COMMITTED transactions only',
				 'a REPEATABLE READ transaction cannot check a login');
SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL READ COMMITTED;

-- failed logins are recorded by a worker that runs as the extension's
-- owner, a superuser: it resolves nothing through public (where a
-- make_interval(integer) would fit its call better than pg_catalog's; it
-- names pg_catalog's, and its search_path leaves public out) ...
CREATE TABLE public.kalam_recorder_called (pid int);
CREATE FUNCTION public.make_interval(secs integer) RETURNS interval LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO public.kalam_recorder_called VALUES (pg_backend_pid());
	RETURN secs * interval '1 second';
END $$;
SELECT throws_ok($$SELECT kalam.authenticate('bob', 'wrong-password-1')$$, '28P01', 'password authentication failed',
				 'a wrong password, with a make_interval(integer) in public');
SELECT is((SELECT failed_login_attempts FROM system.users WHERE username = 'bob'), 1, 'is counted');
SELECT is((SELECT count(*) FROM public.kalam_recorder_called), 0::bigint,
		  'by a recorder that never called public.make_interval()');
DROP FUNCTION public.make_interval(integer);
DROP TABLE public.kalam_recorder_called;
-- ... and the database's defaults, which its owner may set, do not keep
-- it from recording (read-only transactions, a statement timeout)
DO $$ BEGIN
	EXECUTE format('ALTER DATABASE %I SET default_transaction_read_only = on', current_database());
	EXECUTE format('ALTER DATABASE %I SET statement_timeout = 1', current_database());
END $$;
SELECT throws_ok($$SELECT kalam.authenticate('bob', 'wrong-password-1')$$, '28P01', 'password authentication failed',
				 'a wrong password, with read-only defaults');
DO $$ BEGIN
	EXECUTE format('ALTER DATABASE %I RESET default_transaction_read_only', current_database());
	EXECUTE format('ALTER DATABASE %I RESET statement_timeout', current_database());
END $$;
SELECT is((SELECT failed_login_attempts FROM system.users WHERE username = 'bob'), 2, 'is counted');
SELECT kalam.authenticate('bob', 'bob-secret-12');

-- the effective user
SELECT is(kalam.current_user_id(), NULL, 'no effective user at first');
SELECT is(kalam.login('alice', 'alice-secret-1')::text, :'alice', 'login returns the user id');
SELECT is(kalam.current_user_id()::text, :'alice', 'login makes the user the effective user');
SELECT is(kalam.current_user_role()::text, 'user', 'current_user_role follows it');
SELECT kalam.logout();
SELECT is(kalam.current_user_id(), NULL, 'logout clears it');
-- a held cursor keeps its user's rows past its transaction: the next user waits for it
DECLARE held CURSOR WITH HOLD FOR SELECT 1;
SELECT throws_ok($$SELECT kalam.login('alice', 'alice-secret-1')$$, '55000',
				 'cannot change the effective user while cursors WITH HOLD are open',
				 'no login while a cursor WITH HOLD is open');
SELECT throws_ok(format('SELECT kalam.execute_as(%L)', :'alice'), '55000', NULL, 'nor execute_as');
SELECT throws_ok($$SELECT kalam.login('alice', 'not-her-password')$$, '55000', NULL,
				 'the cursor is refused before the password is looked at: a wrong one gets the same error');
CLOSE held;
-- a success records the login: where it could not, right and wrong
-- passwords must fail alike, before either is looked at
SET default_transaction_read_only = on;
SELECT throws_ok($$SELECT kalam.authenticate('alice', 'alice-secret-1')$$, '25006', NULL,
				 'no login in a read-only transaction, with the right password');
SELECT throws_ok($$SELECT kalam.authenticate('alice', 'not-her-password')$$, '25006', NULL,
				 'nor with a wrong one');
RESET default_transaction_read_only;
SELECT is(kalam.login('alice', 'alice-secret-1')::text, :'alice', 'once it is closed, the login goes through');
SELECT kalam.logout();
SELECT is(pg_temp.run_as('kalam_test_app', NULL, format('SET kalam.user_id = %L', :'carol')),
		  'ERROR 42501: permission denied to set parameter "kalam.user_id"',
		  'an ordinary role cannot SET kalam.user_id');
SELECT is(pg_temp.run_as('kalam_test_app', NULL, $$SELECT set_config('kalam.user_id', 'root', false)$$),
		  'ERROR 42501: permission denied to set parameter "kalam.user_id"',
		  'nor through set_config()');
GRANT SET ON PARAMETER kalam.user_id TO kalam_test_api;
SELECT is(pg_temp.run_as('kalam_test_api', NULL, format($$SELECT set_config('kalam.user_id', %L, true)$$, :'bob')),
		  :'bob', 'a role granted SET ON PARAMETER kalam.user_id can set it');
SELECT throws_ok($$SET kalam.no_such_setting = 1$$, '42602', NULL, 'the kalam. prefix is reserved');

-- who may read what
SELECT is(pg_temp.run_as('kalam_test_app', :'alice', 'SELECT password_hash FROM system.users LIMIT 1'),
		  'ERROR 42501: permission denied for table users', 'password_hash is hidden from ordinary roles');
SELECT is(pg_temp.run_as('kalam_test_app', :'carol', 'SELECT channel FROM system.live_queries LIMIT 1'),
		  'ERROR 42501: permission denied for table live_queries',
		  'so is a live query''s channel, even from a dba (knowing it, one could LISTEN)');
SELECT is(pg_temp.run_as('kalam_test_app', :'carol', 'SELECT count(live_id) FROM system.live_queries'),
		  '0', 'the other columns are readable');
SELECT is(pg_temp.run_as('kalam_test_app', :'alice', 'SELECT string_agg(username::text, '','') FROM system.users'),
		  'alice', 'a user sees only their own row of system.users');
SELECT is(pg_temp.run_as('kalam_test_app', :'carol', 'SELECT count(*) FROM system.users'),
		  (SELECT count(*)::text FROM system.users), 'a dba sees every user');
SELECT is(pg_temp.run_as('kalam_test_app', NULL, 'SELECT count(*) FROM system.users'),
		  '0', 'without an effective user, no user is visible');

-- the audit log is append-only
SELECT is(pg_temp.run_as('kalam_test_app', :'carol', $$INSERT INTO system.audit_log (action) VALUES ('user.drop') RETURNING 1$$),
		  'ERROR 42501: permission denied for table audit_log', 'no INSERT into the audit log');
SELECT is(pg_temp.run_as('kalam_test_app', :'carol', 'UPDATE system.audit_log SET details = NULL RETURNING 1'),
		  'ERROR 42501: permission denied for table audit_log', 'no UPDATE of the audit log');
SELECT is(pg_temp.run_as('kalam_test_app', :'carol', 'DELETE FROM system.audit_log RETURNING 1'),
		  'ERROR 42501: permission denied for table audit_log', 'no DELETE from the audit log');
SELECT is(pg_temp.run_as('kalam_test_app', :'carol', 'TRUNCATE system.audit_log'),
		  'ERROR 42501: permission denied for table audit_log', 'no TRUNCATE of the audit log');
GRANT UPDATE, DELETE, TRUNCATE ON system.audit_log TO kalam_test_app;
SELECT is(pg_temp.run_as('kalam_test_app', :'carol', 'DELETE FROM system.audit_log RETURNING 1'),
		  'ERROR 42501: system.audit_log is append-only', 'even with the privilege granted, DELETE is refused');
SELECT is(pg_temp.run_as('kalam_test_app', :'carol', 'TRUNCATE system.audit_log'),
		  'ERROR 42501: system.audit_log is append-only', 'and so is TRUNCATE');
REVOKE UPDATE, DELETE, TRUNCATE ON system.audit_log FROM kalam_test_app;
SELECT is(pg_temp.run_as('kalam_test_app', :'alice', 'SELECT count(*) FROM system.audit_log WHERE target_user_id <> kalam.current_user_id() AND actor_user_id IS DISTINCT FROM kalam.current_user_id()'),
		  '0', 'a user reads only the audit entries about themselves');
-- a failed login is shown to its target, not to the session that tried:
-- the log does not tell it whether the name exists, nor the target's id
-- or state (wrong password, locked, dropped)
SELECT is(pg_temp.run_as('kalam_test_app', :'alice', $$SELECT kalam.authenticate('bob', 'wrong-password-1')$$),
		  'ERROR 28P01: password authentication failed', 'alice tries bob''s account');
SELECT is(pg_temp.run_as('kalam_test_app', :'alice', $$SELECT kalam.authenticate('nobody at all', 'wrong-password-1')$$),
		  'ERROR 28P01: password authentication failed', 'and a name that does not exist');
SELECT is(pg_temp.run_as('kalam_test_app', :'alice', $$SELECT count(*) FROM system.audit_log WHERE action = 'login.failure' AND target_user_id IS DISTINCT FROM kalam.current_user_id()$$),
		  '0', 'she sees neither failure in the audit log');
SELECT is(pg_temp.run_as('kalam_test_app', :'bob', format($$SELECT string_agg(details->>'reason', ',') FROM system.audit_log WHERE action = 'login.failure' AND actor_user_id = %L$$, :'alice')),
		  'wrong_password', 'bob sees the failure on his account');
SELECT is(pg_temp.run_as('kalam_test_app', :'carol', format($$SELECT count(*) FROM system.audit_log WHERE action = 'login.failure' AND actor_user_id = %L$$, :'alice')),
		  '2', 'a dba sees both');
SELECT kalam.authenticate('bob', 'bob-secret-12');
-- nor is a login shown to the user the connection had before: a pooled
-- connection goes from one client's user to the next one's
SELECT is(pg_temp.run_as('kalam_test_app', :'alice', $$SELECT kalam.authenticate('bob', 'bob-secret-12') IS NOT NULL$$),
		  'true', 'bob logs in on a connection alice had');
SELECT is(pg_temp.run_as('kalam_test_app', :'alice', format($$SELECT count(*) FROM system.audit_log WHERE action = 'login.success' AND target_user_id = %L$$, :'bob')),
		  '0', 'alice does not see his login');
SELECT is(pg_temp.run_as('kalam_test_app', :'bob', format($$SELECT count(*) FROM system.audit_log WHERE action = 'login.success' AND target_user_id = %L AND actor_user_id IS NOT NULL$$, :'bob')),
		  '0', 'nor does his login name her as its actor');

-- managing users: dba and system, or a superuser
SELECT is(pg_temp.run_as('kalam_test_app', NULL, $$SELECT kalam.create_user('x4', 'x4-secret-1234')$$),
		  'ERROR 42501: permission denied to manage users', 'no effective user: cannot create users');
SELECT is(pg_temp.run_as('kalam_test_app', :'alice', $$SELECT kalam.create_user('x4', 'x4-secret-1234')$$),
		  'ERROR 42501: permission denied to manage users', 'role user: cannot create users');
SELECT is(pg_temp.run_as('kalam_test_app', :'dave', $$SELECT kalam.drop_user('alice')$$),
		  'ERROR 42501: permission denied to manage users', 'role service: cannot drop users');
SELECT matches(pg_temp.run_as('kalam_test_app', :'carol', $$SELECT kalam.create_user('gina', 'gina-secret-12')$$),
			   '^[A-Za-z0-9_-]{21}$', 'role dba: creates users');
SELECT is(pg_temp.run_as('kalam_test_app', :'carol', $$SELECT kalam.create_user('x5', 'x5-secret-1234', 'system')$$),
		  'ERROR 42501: permission denied to give role system', 'a dba cannot create a system user');
SELECT is(pg_temp.run_as('kalam_test_app', :'carol', $$SELECT kalam.set_password('root', 'root-secret-12')$$),
		  'ERROR 42501: permission denied to manage user "root"', 'a dba cannot touch a system user');
SELECT is(pg_temp.run_as('kalam_test_app', :'carol', $$SELECT kalam.set_role('gina', 'service')$$),
		  '', 'a dba changes roles up to dba');
SELECT is((SELECT role::text FROM system.users WHERE username = 'gina'), 'service', 'set_role takes effect');
-- a NULL role is refused before the row is written: the NOT NULL violation
-- would show the row, password hash included, to the dba
SELECT is(pg_temp.run_as('kalam_test_app', :'carol', $$SELECT kalam.set_role('gina', NULL)$$),
		  'ERROR 22004: a user''s role cannot be NULL', 'set_role refuses a NULL role');
SELECT is(pg_temp.run_as('kalam_test_app', :'carol', $$SELECT kalam.set_password('gina', NULL)$$),
		  'ERROR 22004: a password cannot be NULL', 'set_password refuses a NULL password');
SELECT throws_ok($$SELECT kalam.create_user('nopassword', NULL)$$, '22004', 'a password cannot be NULL',
				 'create_user refuses a NULL password');
SELECT is(pg_temp.run_as('kalam_test_app', :'erin', $$SELECT kalam.set_password('root', 'root-secret-12')$$),
		  '', 'a system user sets the root password');
SELECT is(kalam.authenticate('root', 'root-secret-12')::text, 'root', 'and root can log in');
-- a user who no longer logs in with a password (alter_user changed the
-- auth type, the hash stays) fails as any other login
SELECT kalam.alter_user('alice', auth_type => 'oauth');
SELECT throws_ok($$SELECT kalam.authenticate('alice', 'alice-secret-1')$$, '28P01', 'password authentication failed',
				 'a user whose auth type is not password cannot log in with a password');
SELECT kalam.alter_user('alice', auth_type => 'password');
SELECT is(kalam.authenticate('alice', 'alice-secret-1')::text, :'alice', 'and can again once it is');
SELECT kalam.alter_user('alice', email => 'alice@example.org');
SELECT is((SELECT email FROM system.users WHERE username = 'alice'), 'alice@example.org', 'alter_user changes the email');
SELECT throws_ok($$SELECT kalam.alter_user('alice', email => 'not an address')$$, '23514',
				 'invalid e-mail address "not an address"', 'alter_user checks the email (without showing the row)');
SELECT throws_ok($$SELECT kalam.create_user('ivan', 'ivan-secret-12', email => 'ivan')$$, '23514',
				 'invalid e-mail address "ivan"', 'create_user checks the email too');

-- soft delete and restore
SELECT ok((SELECT deleted_at IS NOT NULL FROM system.users WHERE username = 'frank'), 'drop_user sets deleted_at');
SELECT kalam.restore_user('frank');
SELECT is(kalam.authenticate('frank', 'frank-secret-1')::text, :'frank', 'restore_user lets the user log in again');
SELECT throws_ok($$SELECT kalam.drop_user('root')$$, '42501', 'the bootstrap user root cannot be dropped', 'root cannot be dropped');

-- execute_as follows the hierarchy
SELECT is(pg_temp.run_as('kalam_test_app', :'erin', format('SELECT kalam.execute_as(%L, true)', :'carol'), 'SELECT kalam.current_user_id()'),
		  :'carol', 'system may act as a dba');
SELECT is(pg_temp.run_as('kalam_test_app', :'carol', format('SELECT kalam.execute_as(%L, true)::text', :'erin')),
		  format('ERROR 42501: permission denied to execute as user "%s"', :'erin'), 'dba may not act as system');
SELECT is(pg_temp.run_as('kalam_test_app', :'carol', format('SELECT kalam.execute_as(%L, true)', :'dave'), 'SELECT kalam.current_user_id()'),
		  :'dave', 'dba may act as a service');
SELECT is(pg_temp.run_as('kalam_test_app', :'dave', format('SELECT kalam.execute_as(%L, true)::text', :'carol')),
		  format('ERROR 42501: permission denied to execute as user "%s"', :'carol'), 'service may not act as a dba');
SELECT is(pg_temp.run_as('kalam_test_app', :'dave', format('SELECT kalam.execute_as(%L, true)', :'alice'), 'SELECT kalam.current_user_id()'),
		  :'alice', 'service may act as a user');
SELECT is(pg_temp.run_as('kalam_test_app', :'alice', format('SELECT kalam.execute_as(%L, true)::text', :'bob')),
		  format('ERROR 42501: permission denied to execute as user "%s"', :'bob'), 'a user may not act as another user');
SELECT is(pg_temp.run_as('kalam_test_app', NULL, format('SELECT kalam.execute_as(%L, true)::text', :'bob')),
		  format('ERROR 42501: permission denied to execute as user "%s"', :'bob'), 'nobody may not act as anyone');
SELECT is(pg_temp.run_as('kalam_test_app', :'alice', $$SELECT kalam.execute_as('no-such-user', true)::text$$),
		  'ERROR 42501: permission denied to execute as user "no-such-user"',
		  'a user learns nothing about which users exist from execute_as');
SELECT is(pg_temp.run_as('kalam_test_app', :'carol', $$SELECT kalam.execute_as('no-such-user', true)::text$$),
		  'ERROR 42704: user "no-such-user" does not exist', 'a dba is told the user does not exist');
SELECT ok(EXISTS (SELECT 1 FROM system.audit_log WHERE action = 'execute_as' AND actor_user_id = :'dave' AND target_user_id = :'alice'),
		  'execute_as is audited with actor and target');
SELECT is(kalam.current_user_id(), NULL, 'execute_as(..., true) ends with the transaction');
-- acting as oneself is not audited, making a transaction's identity the session's is
SELECT is(pg_temp.run_as('kalam_test_app', :'alice', format($$SELECT count(*) FROM (SELECT kalam.execute_as(%L, true) FROM generate_series(1, 3)) s$$, :'alice')),
		  '3', 'a user acts as herself three times');
SELECT is((SELECT count(*) FROM system.audit_log WHERE action = 'execute_as' AND target_user_id = :'alice'
		   AND details->>'local' = 'true' AND actor_user_id = :'alice'), 0::bigint, 'which is not audited');
SELECT is(pg_temp.run_as('kalam_test_app', :'carol', format('SELECT kalam.execute_as(%L, false)::text', :'carol')),
		  '', 'a dba acting for this transaction only makes that identity the session''s');
SELECT is((SELECT count(*) FROM system.audit_log WHERE action = 'execute_as' AND target_user_id = :'carol'
		   AND details->>'local' = 'false'), 1::bigint, 'which is audited');
SELECT kalam.logout();
-- failures counted under a higher limit (or none) do not lock a user for good
UPDATE system.users SET failed_login_attempts = 7, locked_until = NULL WHERE username = 'bob';
SELECT is(kalam.authenticate('bob', 'bob-secret-12')::text, :'bob',
		  'a count above the limit without a lock does not keep the right password out');

-- namespaces
SELECT is(kalam.create_namespace('Chat')::text, 'chat', 'create_namespace returns the folded name');
SELECT has_schema('chat', 'and creates the schema');
SELECT throws_ok($$SELECT kalam.create_namespace('system')$$, '42939', 'namespace name "system" is reserved', 'reserved names are refused');
SELECT throws_ok($$SELECT kalam.create_namespace('chat')$$, '42P06', NULL, 'a namespace is created once');
CREATE TABLE chat.messages (id int);
SELECT throws_ok($$SELECT kalam.drop_namespace('chat')$$, '2BP01', 'namespace "chat" still holds tables', 'a namespace with tables stays');
DROP TABLE chat.messages;
SELECT lives_ok($$SELECT kalam.drop_namespace('chat')$$, 'an empty namespace is dropped');
SELECT hasnt_schema('chat', 'with its schema');
SELECT is(pg_temp.run_as('kalam_test_app', :'alice', $$SELECT kalam.create_namespace('mine')$$),
		  'ERROR 42501: permission denied to manage users', 'a user cannot create namespaces');

-- the audit trail of user management
SELECT is((SELECT array_agg(DISTINCT action ORDER BY action) FROM system.audit_log),
		  ARRAY['execute_as', 'login.failure', 'login.success', 'namespace.create', 'namespace.drop',
				'user.alter', 'user.create', 'user.drop', 'user.restore', 'user.set_password',
				'user.set_role', 'user.unlock'],
		  'every kind of change is audited');

SELECT * FROM finish();

-- clean up (a superuser may clear the audit log)
DELETE FROM system.users WHERE user_id <> 'root';
UPDATE system.users SET password_hash = NULL, last_login_at = NULL, failed_login_attempts = 0 WHERE user_id = 'root';
TRUNCATE system.audit_log;
DROP OWNED BY kalam_test_app, kalam_test_api;
DROP ROLE kalam_test_app;
DROP ROLE kalam_test_api;
