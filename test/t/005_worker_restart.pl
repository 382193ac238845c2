# The kalamdb worker: started for each database with the extension,
# started again when it is terminated, back after a crash (kill -9), and
# then marking the jobs it left running as failed.
use strict;
use warnings;
use FindBin;
use lib $FindBin::Bin;
use KalamNode;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = KalamNode::start('worker', qq{
restart_after_crash = on
kalam.job_poll_interval = 200ms
});
$node->safe_psql('postgres', 'CREATE EXTENSION kalamdb');

my $worker_pid = q{SELECT pid FROM pg_stat_activity WHERE backend_type = 'kalamdb worker' AND datname = 'postgres'};
ok($node->poll_query_until('postgres', "SELECT count(*) = 1 FROM ($worker_pid) w"),
	'a worker runs for the database');
my $pid = $node->safe_psql('postgres', $worker_pid);

# terminated: the launcher starts it again
$node->safe_psql('postgres', "SELECT pg_terminate_backend($pid)");
ok($node->poll_query_until('postgres', "SELECT count(*) = 1 FROM ($worker_pid) w WHERE pid <> $pid"),
	'a terminated worker is started again');

# a job the worker was running when the server crashed
my $job = $node->safe_psql('postgres', q{
	INSERT INTO system.jobs (job_id, job_type, status, started_at)
	VALUES (kalam.new_job_id('flush'), 'flush', 'running', now()) RETURNING job_id});
$pid = $node->safe_psql('postgres', $worker_pid);
kill 'KILL', $pid;
ok($node->poll_query_until('postgres', "SELECT count(*) = 1 FROM ($worker_pid) w WHERE pid <> $pid"),
	'after kill -9 (and the crash restart) the worker is back');
ok($node->poll_query_until('postgres', "SELECT status = 'failed' FROM system.jobs WHERE job_id = '$job'"),
	'the job left running is marked failed');
like($node->safe_psql('postgres', "SELECT message FROM system.jobs WHERE job_id = '$job'"),
	qr/interrupted/, 'saying it was interrupted');

# it still runs jobs
my $j = $node->safe_psql('postgres', q{SELECT kalam.submit_job('job_cleanup')});
ok($node->poll_query_until('postgres', "SELECT status = 'completed' FROM system.jobs WHERE job_id = '$j'"),
	'and runs new jobs');

# a database without the extension gets no worker; CREATE EXTENSION starts one
$node->safe_psql('postgres', 'CREATE DATABASE other');
sleep 1;
is($node->safe_psql('postgres', q{SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'kalamdb worker' AND datname = 'other'}),
	'0', 'no worker where kalamdb is not installed');
$node->safe_psql('other', 'CREATE EXTENSION kalamdb');
ok($node->poll_query_until('postgres', q{SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'kalamdb worker' AND datname = 'other'}),
	'CREATE EXTENSION starts one');
$node->safe_psql('other', 'DROP EXTENSION kalamdb');
ok($node->poll_query_until('postgres', q{SELECT count(*) = 0 FROM pg_stat_activity WHERE backend_type = 'kalamdb worker' AND datname = 'other'}),
	'DROP EXTENSION stops it');

# commands that need a database to themselves stop its worker first
$node->safe_psql('other', 'CREATE EXTENSION kalamdb');
ok($node->poll_query_until('postgres', q{SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'kalamdb worker' AND datname = 'other'}),
	'a worker for "other" again');
my $ts_dir = PostgreSQL::Test::Utils::tempdir();
$node->safe_psql('postgres', "CREATE TABLESPACE elsewhere LOCATION '$ts_dir'");
$node->safe_psql('postgres', 'ALTER DATABASE other SET TABLESPACE elsewhere');
pass('ALTER DATABASE ... SET TABLESPACE of a database with a worker');
$node->safe_psql('postgres', 'CREATE DATABASE copy_of_other TEMPLATE other');
pass('CREATE DATABASE ... TEMPLATE a database with a worker');
$node->safe_psql('postgres', 'ALTER DATABASE other RENAME TO renamed');
pass('ALTER DATABASE ... RENAME of a database with a worker');
$node->safe_psql('postgres', 'DROP DATABASE renamed');
$node->safe_psql('postgres', 'DROP DATABASE copy_of_other');
$node->safe_psql('postgres', 'DROP TABLESPACE elsewhere');
pass('DROP DATABASE of databases with kalamdb');

# a template database: any role allowed to copy it (CREATEDB) gets its
# worker out of the way, as PostgreSQL does autovacuum
$node->safe_psql('postgres', q{CREATE DATABASE tpl; CREATE ROLE copier LOGIN CREATEDB});
$node->safe_psql('tpl', 'CREATE EXTENSION kalamdb');
$node->safe_psql('postgres', 'ALTER DATABASE tpl IS_TEMPLATE true');
ok($node->poll_query_until('postgres', q{SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'kalamdb worker' AND datname = 'tpl'}),
	'a worker for the template database');
my ($copy_rc, $copy_out, $copy_err) = $node->psql('postgres', 'CREATE DATABASE copied TEMPLATE tpl',
	extra_params => [ '-U', 'copier' ]);
is($copy_rc, 0, 'a role with CREATEDB copies a template database whose worker runs') or diag($copy_err);
$node->safe_psql('postgres', q{DROP DATABASE copied; ALTER DATABASE tpl IS_TEMPLATE false; DROP DATABASE tpl});

$node->stop;
done_testing();
