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
