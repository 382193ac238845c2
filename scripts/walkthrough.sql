-- kalamdb walkthrough.  Every statement is shown with its result; the
-- statements that are meant to fail are between "expect errors" marks.

CREATE EXTENSION kalamdb;

-- 1. Typed keys.  Each KalamDB id is its own PostgreSQL type, validated on
--    input and kept apart from the others.
SELECT 'alice-42'::kalam.user_id       AS user_id,
       'Alice.Smith'::kalam.user_name  AS user_name,
       'Chat.Messages'::kalam.table_id AS table_id,   -- folded to lower case
       kalam.new_row_id()              AS row_id;

-- Bad input is refused with SQLSTATE 22P02 and a reason, and different
-- key types do not mix, even when the text would fit:
\set ON_ERROR_STOP off
\set VERBOSITY verbose
SELECT 'alice smith'::kalam.user_id;
SELECT 'alice'::kalam.user_id = 'alice'::kalam.user_name;
\set VERBOSITY default
\set ON_ERROR_STOP on

-- User names compare case-insensitively but keep their spelling:
SELECT 'ALICE'::kalam.user_name = 'alice'::kalam.user_name AS same_login,
       'ALICE'::kalam.user_name::text                       AS as_entered;

-- Row ids are snowflakes: increasing, and they carry their creation time.
SELECT kalam.row_id_time(kalam.new_row_id()) AS created_at;

-- Job ids name their job type:
SELECT kalam.new_job_id('user_cleanup') AS job_id,
       kalam.job_type_of('UC-0123456789ab') AS job_type;

-- A (user, row) key, and "all rows of one user" as one index range:
CREATE TABLE notes (id kalam.user_row_id PRIMARY KEY, body text);
INSERT INTO notes
SELECT kalam.user_row_id(('user' || (i % 3))::kalam.user_id, kalam.new_row_id()), 'note ' || i
FROM generate_series(1, 9) i;
SELECT id, body FROM notes WHERE id ^@ 'user1' ORDER BY id;
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM notes WHERE id ^@ 'user1';
RESET enable_seqscan;

-- 2. Users and logins.  Passwords are bcrypt hashes; a wrong password and
--    an unknown user fail alike (same SQLSTATE, message and time).
SET kalam.bcrypt_cost = 4;       -- quick hashes for the tour (default 12)
SELECT kalam.create_user('alice', 'alice-secret-1') AS alice \gset
SELECT kalam.create_user('bob', 'bob-secret-123') AS bob \gset
SELECT user_id, username, role, password_hash LIKE '$2b$04$%' AS bcrypt
FROM system.users ORDER BY username;
\set ON_ERROR_STOP off
SELECT kalam.login('alice', 'wrong password');
SELECT kalam.login('mallory', 'anything at all');
\set ON_ERROR_STOP on
SELECT username, failed_login_attempts FROM system.users WHERE username = 'alice';
SELECT action, target_name, details->>'reason' AS reason
FROM system.audit_log WHERE action = 'login.failure' ORDER BY occurred_at;

-- 3. A USER table: the kalamdb access method keeps each user's rows on
--    pages of their own, and row-level security shows each user only
--    their rows.
SELECT kalam.create_namespace('chat');
--    WITH (type = 'user') registers it as a USER table (the same as
--    SELECT kalam.register_table('chat.messages', 'user') afterwards).
CREATE TABLE chat.messages (
    owner kalam.user_id,
    id    kalam.row_id DEFAULT kalam.new_row_id(),
    body  text
) USING kalamdb WITH (type = 'user');
SELECT table_id, table_type, owner_column FROM system.tables;
CREATE TABLE heap_messages (LIKE chat.messages) USING heap;
-- 400 messages, the two users taking turns, in both tables:
INSERT INTO chat.messages (owner, body)
SELECT CASE WHEN i % 2 = 0 THEN :'alice' ELSE :'bob' END::kalam.user_id, repeat('message ', 12) || i
FROM generate_series(1, 400) i;
INSERT INTO heap_messages SELECT * FROM chat.messages ORDER BY id;
SELECT 'kalamdb' AS layout, u.username, count(*) AS rows,
       count(DISTINCT (m.ctid::text::point)[0]) AS pages
FROM chat.messages m JOIN system.users u ON u.user_id = m.owner GROUP BY u.username
UNION ALL
SELECT 'heap', u.username, count(*), count(DISTINCT (m.ctid::text::point)[0])
FROM heap_messages m JOIN system.users u ON u.user_id = m.owner GROUP BY u.username
ORDER BY 1, 2;
-- Deletes leave holes where the rows were, and VACUUM frees them in place;
-- kalam.compact() gathers each user's rows onto as few pages as they
-- need (the next VACUUM frees the pages it emptied):
\set pages_per_user 'SELECT u.username, count(*) AS rows, count(DISTINCT (m.ctid::text::point)[0]) AS pages FROM chat.messages m JOIN system.users u ON u.user_id = m.owner GROUP BY u.username ORDER BY 1'
DELETE FROM chat.messages WHERE right(body, 1) IN ('1', '2', '3', '4', '5', '6');
VACUUM chat.messages;
:pages_per_user;
SELECT kalam.compact('chat.messages') AS rows_moved;
:pages_per_user;

-- An application connects as an ordinary role and logs its users in:
CREATE ROLE demo_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON chat.messages TO demo_app;
SET ROLE demo_app;
SELECT kalam.login('bob', 'bob-secret-123') = :'bob' AS bob_logged_in;
INSERT INTO chat.messages (body) VALUES ('hello from bob');   -- owner: bob
SELECT count(*) AS messages_bob_sees, count(*) FILTER (WHERE owner <> :'bob') AS not_his
FROM chat.messages;
SELECT kalam.logout();
SELECT count(*) AS messages_nobody_sees FROM chat.messages;

-- 4. Live queries: alice subscribes; her committed changes that match the
--    WHERE arrive with NOTIFY (psql prints them after the next command);
--    her draft and bob's row do not.
SELECT kalam.login('alice', 'alice-secret-1') = :'alice' AS alice_logged_in;
SELECT live_id IS NOT NULL AS subscribed
FROM kalam.subscribe('SELECT id, body FROM chat.messages WHERE body <> ''draft''');
RESET ROLE;
INSERT INTO chat.messages (owner, body)
VALUES (:'alice', 'live: for alice'), (:'alice', 'draft'), (:'bob', 'live: for bob');
UPDATE chat.messages SET body = 'live: edited' WHERE body = 'live: for alice';
SELECT count(*) AS alice_subscriptions FROM system.live_queries;
SELECT kalam.logout();           -- her subscriptions end with her session identity
SELECT count(*) AS subscriptions_left FROM system.live_queries;

-- 5. Jobs: dropping a user is a soft delete; the user cleanup job, run by
--    the kalamdb background worker, removes the user and their rows after
--    the grace period (here: none).
SELECT kalam.drop_user('bob');
SELECT kalam.submit_job('user_cleanup', '{"grace_period": "0 seconds"}') AS job \gset
CREATE FUNCTION pg_temp.wait_for_job(id kalam.job_id) RETURNS kalam.job_status
LANGUAGE plpgsql AS $$
DECLARE
    s kalam.job_status;
BEGIN
    FOR i IN 1..300 LOOP          -- up to 30 s
        SELECT status INTO s FROM system.jobs WHERE job_id = id;
        EXIT WHEN s IN ('completed', 'failed');
        PERFORM pg_sleep(0.1);
    END LOOP;
    RETURN s;
END $$;
SELECT pg_temp.wait_for_job(:'job');
SELECT job_type, status, message FROM system.jobs WHERE job_id = :'job';
SELECT count(*) AS bobs_rows_left FROM chat.messages WHERE owner = :'bob';
SELECT username FROM system.users ORDER BY username;
