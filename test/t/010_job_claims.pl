# How the kalamdb worker takes jobs when other sessions hold them: a job
# row another session has locked is skipped (FOR UPDATE SKIP LOCKED), when
# queueing new jobs as when claiming queued ones, and the worker goes on
# with the others; the locked job runs once the lock is gone.  A job
# cancelled while it runs stays cancelled, and finished; one cancelled by
# a transaction still open when it ends does not hold the worker up.  The jobs are seen in the
# states they pass through: new, running, completed, cancelled.
use strict;
use warnings;
use FindBin;
use lib $FindBin::Bin;
use KalamNode;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = KalamNode::start('claims', qq{
kalam.job_poll_interval = 200ms
kalam.job_lock_timeout = 10min
});
$node->safe_psql('postgres', q{
	CREATE EXTENSION kalamdb;
	SELECT kalam.create_namespace('ns');
	CREATE TABLE ns.typing (owner kalam.user_id, at timestamptz, what text) USING kalamdb;
	SELECT kalam.register_table('ns.typing', 'stream', ttl => '1 hour');
	INSERT INTO ns.typing VALUES ('u1', now() - interval '2 hours', 'old'), ('u1', now(), 'new');
});
ok($node->poll_query_until('postgres', q{SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'kalamdb worker'}),
	'the worker runs');
# let the scheduled jobs of the worker's first round finish
ok($node->poll_query_until('postgres', q{
	SELECT count(*) > 0 AND count(*) FILTER (WHERE status NOT IN ('completed', 'failed')) = 0
	FROM system.jobs WHERE idempotency_key LIKE 'schedule:%'}), 'its scheduled jobs are done');

sub status
{
	my ($job) = @_;
	return $node->safe_psql('postgres', "SELECT status FROM system.jobs WHERE job_id = '$job'");
}

# the worker busy: a stream eviction waits for a table lock
my $blocker = $node->background_psql('postgres');
$blocker->query_safe('BEGIN');
$blocker->query_safe('LOCK TABLE ns.typing IN ACCESS EXCLUSIVE MODE');
my $evict = $node->safe_psql('postgres', q{SELECT kalam.submit_job('stream_eviction')});
ok($node->poll_query_until('postgres', qq{
	SELECT j.status = 'running' AND EXISTS (SELECT 1 FROM pg_stat_activity
		WHERE backend_type = 'kalamdb worker' AND wait_event_type = 'Lock')
	FROM system.jobs j WHERE job_id = '$evict'}), 'a stream eviction runs, waiting for the table');

# meanwhile two jobs are submitted; another session locks the first
my $held = $node->safe_psql('postgres', q{SELECT kalam.submit_job('job_cleanup')});
my $free = $node->safe_psql('postgres', q{SELECT kalam.submit_job('job_cleanup')});
is(status($held), 'new', 'a job the worker has not taken yet is new');
my $holder = $node->background_psql('postgres');
$holder->query_safe('BEGIN');
$holder->query_safe("SELECT job_id FROM system.jobs WHERE job_id = '$held' FOR UPDATE");

# cancelled while it runs: it stops and stays cancelled, finished, even
# when the step it was in then fails (a trigger refusing the delete)
is($node->safe_psql('postgres', "SELECT kalam.cancel_job('$evict')"), 'cancelled', 'the running eviction is cancelled');
$blocker->query_safe(q{
	CREATE FUNCTION ns.refuse() RETURNS trigger LANGUAGE plpgsql AS $$
	BEGIN RAISE EXCEPTION 'not now'; END $$;
	CREATE TRIGGER refuse BEFORE DELETE ON ns.typing FOR EACH ROW EXECUTE FUNCTION ns.refuse();
	INSERT INTO ns.typing VALUES ('u1', now() - interval '2 hours', 'old again');
});
$blocker->query_safe('COMMIT');
$blocker->quit;
ok($node->poll_query_until('postgres', "SELECT message LIKE '%not now%' FROM system.jobs WHERE job_id = '$evict'"),
	'the cancelled eviction\'s step fails');
is($node->safe_psql('postgres', "SELECT status, finished_at IS NOT NULL, message LIKE 'cancelled by %' FROM system.jobs WHERE job_id = '$evict'"),
	'cancelled|t|t', 'and it stays cancelled and finished (job retention removes it in time), its cancellation noted');
$node->safe_psql('postgres', 'DROP TRIGGER refuse ON ns.typing');

ok($node->poll_query_until('postgres', "SELECT status = 'completed' FROM system.jobs WHERE job_id = '$free'"),
	'the worker goes on: the job nobody holds is queued and runs');
is(status($evict), 'cancelled', 'the cancelled eviction stays cancelled');
is(status($held), 'new', 'the held job is skipped, not waited for');

# a queued job held by another session is skipped when claiming
$holder->query_safe('COMMIT');
ok($node->poll_query_until('postgres', "SELECT status = 'completed' FROM system.jobs WHERE job_id = '$held'"),
	'once the lock is gone, the held job runs');
my $retry = $node->safe_psql('postgres', q{
	INSERT INTO system.jobs (job_id, job_type, status, retry_count, updated_at)
	VALUES (kalam.new_job_id('job_cleanup'), 'job_cleanup', 'retrying', 3, now()) RETURNING job_id});
$holder->query_safe('BEGIN');
$holder->query_safe("SELECT job_id FROM system.jobs WHERE job_id = '$retry' FOR UPDATE");
# the retry is due after 3 seconds; by then another job has been claimed
sleep 4;
my $next = $node->safe_psql('postgres', q{SELECT kalam.submit_job('job_cleanup')});
ok($node->poll_query_until('postgres', "SELECT status = 'completed' FROM system.jobs WHERE job_id = '$next'"),
	'a job submitted after a held retry came due runs');
is(status($retry), 'retrying', 'the held retry is skipped');
$holder->query_safe('COMMIT');
ok($node->poll_query_until('postgres', "SELECT status = 'completed' FROM system.jobs WHERE job_id = '$retry'"),
	'and runs once released');

# a running job cancelled by a transaction that stays open: when the job
# ends, its row is held; the worker keeps the outcome and goes on with
# other jobs, and records it once the row is free
$blocker = $node->background_psql('postgres');
$blocker->query_safe('BEGIN');
$blocker->query_safe('LOCK TABLE ns.typing IN ACCESS EXCLUSIVE MODE');
$evict = $node->safe_psql('postgres', q{SELECT kalam.submit_job('stream_eviction')});
ok($node->poll_query_until('postgres', qq{
	SELECT j.status = 'running' AND EXISTS (SELECT 1 FROM pg_stat_activity
		WHERE backend_type = 'kalamdb worker' AND wait_event_type = 'Lock')
	FROM system.jobs j WHERE job_id = '$evict'}), 'another stream eviction runs, waiting for the table');
$holder->query_safe('BEGIN');
is($holder->query_safe("SELECT kalam.cancel_job('$evict')"), 'cancelled', 'a transaction cancels it and stays open');
$blocker->query_safe('COMMIT');
$blocker->quit;
$next = $node->safe_psql('postgres', q{SELECT kalam.submit_job('job_cleanup')});
ok($node->poll_query_until('postgres', "SELECT status = 'completed' FROM system.jobs WHERE job_id = '$next'"),
	'the worker does not wait for the cancelled job\'s row: the next job runs');
$holder->query_safe('COMMIT');
ok($node->poll_query_until('postgres',
	"SELECT status = 'cancelled' AND finished_at IS NOT NULL AND parameters ? 'result' FROM system.jobs WHERE job_id = '$evict'"),
	'and once the row is free, the cancelled job\'s outcome is recorded');
$holder->quit;

# a user's expired STREAM row held by a transaction left open waits for the
# next eviction; everyone else's go now
$node->safe_psql('postgres', q{ALTER SYSTEM SET kalam.job_lock_timeout = '1s'; SELECT pg_reload_conf()});
$node->safe_psql('postgres', q{INSERT INTO ns.typing VALUES ('u2', now() - interval '2 hours', 'held'),
	('u3', now() - interval '2 hours', 'free')});
$holder = $node->background_psql('postgres');
$holder->query_safe('BEGIN');
$holder->query_safe(q{SELECT * FROM ns.typing WHERE what = 'held' FOR UPDATE});
$evict = $node->safe_psql('postgres', q{SELECT kalam.submit_job('stream_eviction', '{}', NULL, 0)});
ok($node->poll_query_until('postgres', "SELECT status = 'completed' FROM system.jobs WHERE job_id = '$evict'"),
	'an eviction with a row held completes');
is($node->safe_psql('postgres', q{SELECT string_agg(what, ',' ORDER BY what) FROM ns.typing WHERE at < now() - interval '1 hour'}),
	'held', 'the held row stays, the others are gone');
$holder->query_safe('COMMIT');
$evict = $node->safe_psql('postgres', q{SELECT kalam.submit_job('stream_eviction', '{}', NULL, 0)});
ok($node->poll_query_until('postgres', "SELECT status = 'completed' FROM system.jobs WHERE job_id = '$evict'"),
	'the next eviction completes');
is($node->safe_psql('postgres', q{SELECT count(*) FROM ns.typing WHERE at < now() - interval '1 hour'}), '0',
	'and takes the row no longer held');

# a lock that is not let go: the step waits kalam.job_lock_timeout for it,
# then fails (the job to be retried), and the worker goes on
$blocker = $node->background_psql('postgres');
$blocker->query_safe('BEGIN');
$blocker->query_safe('LOCK TABLE ns.typing IN ACCESS EXCLUSIVE MODE');
$evict = $node->safe_psql('postgres', q{SELECT kalam.submit_job('stream_eviction', '{}', NULL, 0)});
ok($node->poll_query_until('postgres', qq{
	SELECT status = 'failed' AND message LIKE '%lock timeout%' FROM system.jobs WHERE job_id = '$evict'}),
	'an eviction that cannot lock its table fails on its lock timeout');
$next = $node->safe_psql('postgres', q{SELECT kalam.submit_job('job_cleanup')});
ok($node->poll_query_until('postgres', "SELECT status = 'completed' FROM system.jobs WHERE job_id = '$next'"),
	'and the worker goes on with the next job while the lock is still held');
$blocker->query_safe('COMMIT');
$blocker->quit;
$holder->quit;

$node->stop;
done_testing();
