
-- ---------------------------------------------------------------------
-- Closed sets.  kalam.job_type's labels must match src/keys/job_prefix.c.
-- ---------------------------------------------------------------------

CREATE TYPE kalam.role AS ENUM ('user', 'service', 'dba', 'system');
CREATE TYPE kalam.auth_type AS ENUM ('password', 'oauth', 'internal');
CREATE TYPE kalam.storage_mode AS ENUM ('table', 'region');
CREATE TYPE kalam.table_type AS ENUM ('user', 'shared', 'stream', 'system');
CREATE TYPE kalam.table_access AS ENUM ('public', 'private', 'restricted');
CREATE TYPE kalam.job_status AS ENUM
	('new', 'queued', 'running', 'retrying', 'completed', 'failed',
	 'cancelled', 'skipped');
CREATE TYPE kalam.job_type AS ENUM
	('flush', 'compact', 'cleanup', 'backup', 'restore', 'retention',
	 'stream_eviction', 'user_cleanup', 'job_cleanup', 'live_query_cleanup');
