# Failed logins are counted even when no background worker can be started
# to record them: parallel queries, which any role may run, can take every
# background worker slot.  Such a failure stays queued in its backend's
# slot for the database's kalamdb worker; until it is recorded the user's
# logins fail, and the session that made it makes no other login checked
# until the worker has tried it; other users log in as usual.  The lockout
# still comes after five failures in a row.  A failure that finds the
# user's row held is queued at once, and the session goes on as after an
# unknown user's failure.  A login cut off while its password is hashed
# is no failure, and stops counting as under way.
use strict;
use warnings;
use FindBin;
use lib $FindBin::Bin;
use KalamNode;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

# the kalamdb launcher, its worker for "postgres" and the logical
# replication launcher take three slots; parallel workers the others
my $node = KalamNode::start('queue', qq{
max_worker_processes = 6
max_parallel_workers = 6
kalam.bcrypt_cost = 4
kalam.job_poll_interval = 200ms
});
$node->safe_psql('postgres', q{
	CREATE EXTENSION kalamdb;
	SELECT kalam.create_user('bob', 'bob-secret-123');
	SELECT kalam.create_user('alice', 'alice-secret-1');
	SELECT kalam.create_user('carol', 'carol-secret-1');
	SELECT kalam.create_namespace('app');
	CREATE TABLE app.notes (owner kalam.user_id, body text) USING kalamdb;
	SELECT kalam.register_table('app.notes', 'user');
	CREATE TABLE public.big (g int) WITH (parallel_workers = 8);
	INSERT INTO public.big SELECT generate_series(1, 100000);
	ANALYZE public.big;
});
ok($node->poll_query_until('postgres', q{SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'kalamdb worker'}),
	'the kalamdb worker runs');

my $failures = q{SELECT failed_login_attempts FROM system.users WHERE username = 'bob'};

# a login in a session of its own: 'ok', or the error (and whether queued)
my $try = sub {
	my ($user, $password) = @_;
	my ($rc, $out, $err) = $node->psql('postgres', "SELECT kalam.authenticate('$user', '$password') IS NOT NULL");
	my ($error) = $err =~ /ERROR:\s+(.*)/;
	return ($rc == 0 ? 'ok' : $error) . ($err =~ /queued to be recorded/ ? ' (queued)' : '');
};

# the same in a lasting session
my $bob = $node->background_psql('postgres', on_error_stop => 0);
my $try_in = sub {
	my ($session, $user, $password) = @_;
	$session->{stderr} = '';
	$session->query("SELECT kalam.authenticate('$user', '$password') IS NOT NULL");
	my $err = $session->{stderr};
	my ($error) = $err =~ /ERROR:\s+(.*)/;
	return ($error // 'ok') . ($err =~ /queued to be recorded/ ? ' (queued)' : '');
};

# keep the worker busy: a compact job waiting for a table lock
my $locker = $node->background_psql('postgres');
$locker->query_safe('BEGIN; LOCK TABLE app.notes IN ACCESS EXCLUSIVE MODE;');
my $job = $node->safe_psql('postgres', q{SELECT kalam.submit_job('compact', '{"table": "app.notes", "lock_timeout": "60s"}')});
ok($node->poll_query_until('postgres', "SELECT status = 'running' FROM system.jobs WHERE job_id = '$job'"),
	'the worker is busy with a job');

# take every free background worker slot
my $hog = $node->background_psql('postgres', on_error_stop => 0);
$hog->query_until(qr/started/, q{
SET max_parallel_workers_per_gather = 8;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
\echo started
SELECT count(*) FROM public.big WHERE pg_sleep(0.01) IS NOT NULL;
});
ok($node->poll_query_until('postgres', q{SELECT count(*) >= 3 FROM pg_stat_activity WHERE backend_type = 'parallel worker'}),
	'parallel workers take the free background worker slots');

is($try_in->($bob, 'bob', 'wrong-secret-1'), 'password authentication failed (queued)',
	'a wrong password: no recorder can be started, the failure is queued');
is($try_in->($bob, 'bob', 'bob-secret-123'), 'the last failed login of this session is still waiting to be recorded',
	'that session has no other login checked until it is recorded');
is($try->('bob', 'bob-secret-123'), 'password authentication failed (queued)',
	'in another session, even the right password is refused (a failure too)');
is($node->safe_psql('postgres', $failures), '0', 'the failure is not counted yet');
is($try->('alice', 'alice-secret-1'), 'ok', 'other users log in as usual');
# a failing login whose failure is queued does not wait for the worker:
# a statement timeout finds nothing to cut, the failure stays queued
my (undef, undef, $queued) = $node->psql('postgres',
	q{SET statement_timeout = '300ms'; SELECT kalam.authenticate('carol', 'wrong-secret-1')});
like($queued, qr/ERROR:  password authentication failed/, 'a failing login queued returns at once');

# the worker is free again: it records the queued failures
$locker->query_safe('COMMIT');
ok($node->poll_query_until('postgres', "SELECT status = 'completed' FROM system.jobs WHERE job_id = '$job'"),
	'the job completes');
ok($node->poll_query_until('postgres', "SELECT ($failures) = 1"), 'the worker counts the queued failure');
is($node->safe_psql('postgres', q{SELECT count(*) FROM system.audit_log WHERE action = 'login.failure' AND details->>'reason' = 'wrong_password' AND target_name = 'bob'}),
	'1', 'and audits it');
ok($node->poll_query_until('postgres', q{SELECT failed_login_attempts = 1 FROM system.users WHERE username = 'carol'}),
	'that session\'s failure is counted too');
is($try_in->($bob, 'bob', 'bob-secret-123'), 'ok', 'then the right password is accepted again');

# five failures in a row lock the account, worker slots or not
is($node->safe_psql('postgres', q{SELECT count(*) >= 3 FROM pg_stat_activity WHERE backend_type = 'parallel worker'}),
	't', 'the parallel workers still hold the slots');
for my $i (1 .. 5)
{
	is($try_in->($bob, 'bob', 'wrong-secret-1'), 'password authentication failed (queued)', "failure $i is queued");
	$node->poll_query_until('postgres', "SELECT ($failures) = $i") or diag("failure $i not counted");
}
ok($node->safe_psql('postgres', q{SELECT locked_until > now() FROM system.users WHERE username = 'bob'}) eq 't',
	'five failures lock the account');
like($try->('bob', 'bob-secret-123'), qr/^password authentication failed/, 'which then refuses the right password');

$node->safe_psql('postgres', q{SELECT pg_cancel_backend(pid) FROM pg_stat_activity
							   WHERE query LIKE '%FROM public.big%' AND pid <> pg_backend_pid() AND backend_type = 'client backend'});
$hog->quit;

# a session holding the user's row (carol logged in, in a transaction it
# keeps open) does not make others' failed logins of hers uncounted: they
# wait, and block her logins, until it ends
my $holder = $node->background_psql('postgres');
$holder->query_safe(q{BEGIN; SELECT kalam.login('carol', 'carol-secret-1');});
my $guesser = $node->background_psql('postgres', on_error_stop => 0);
like($try_in->($guesser, 'carol', 'wrong-secret-1'), qr/^password authentication failed$/,
	'a wrong password while her row is held');
like($try->('carol', 'carol-secret-1'), qr/^password authentication failed/, 'blocks her logins while it waits');
# the failure is queued at once, not waited for: that session goes on as
# after an unknown user's failure (neither its time nor its next login
# tells that the user exists and is held)
is($try_in->($guesser, 'alice', 'alice-secret-1'), 'ok',
	'the session that failed is not held up by the row: its next login is checked');
like($try_in->($guesser, 'nosuch', 'wrong-secret-1'), qr/^password authentication failed$/, 'an unknown user fails alike');
is($try_in->($guesser, 'alice', 'alice-secret-1'), 'ok', 'and the next login is checked alike');
$guesser->quit;
$holder->query_safe('COMMIT');
ok($node->poll_query_until('postgres', q{SELECT failed_login_attempts = 1 FROM system.users WHERE username = 'carol'}),
	'once the row is free, the failure is counted');
is($node->safe_psql('postgres', q{SELECT count(*) FROM system.audit_log WHERE details->>'reason' LIKE '%uncounted%'}),
	'0', 'no failure went uncounted');
$holder->quit;

# a login cut off while its password is hashed (a statement timeout) had
# no verdict seen: it stops counting as a login under way of the user
# when its transaction ends, even if its session stays (else idle
# sessions could keep a user locked out)
$node->safe_psql('postgres', q{SET kalam.bcrypt_cost = 12; SELECT kalam.create_user('dave', 'dave-secret-12')});
my $idle = $node->background_psql('postgres', on_error_stop => 0);
$idle->{stderr} = '';
$idle->query(q{SET statement_timeout = '50ms'; SELECT kalam.authenticate('dave', 'wrong-secret-1'); RESET statement_timeout;});
like($idle->{stderr}, qr/canceling statement due to statement timeout/, 'a login cut off while the password is hashed');
is($node->safe_psql('postgres', q{SELECT failed_login_attempts FROM system.users WHERE username = 'dave'}), '0',
	'is not a failure');
my ($rc) = $node->psql('postgres',
	q{SET kalam.max_failed_logins = 1; SELECT kalam.authenticate('dave', 'dave-secret-12')});
is($rc, 0, 'nor, once ended, a login under way: with a lockout after one failure, the right password is accepted');
$idle->quit;
$bob->quit;
$locker->quit;
$node->stop;
done_testing();
