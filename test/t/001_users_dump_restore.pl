# A database with kalamdb users, a root password, namespaces and audit
# history survives pg_dump / pg_restore into a fresh database: every row of
# the system catalog is kept and every login still works.
use strict;
use warnings;
use FindBin;
use lib $FindBin::Bin;
use KalamNode;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = KalamNode::start('main', qq{
kalam.bcrypt_cost = 4
# no scheduled jobs: each database's worker would add its own rows
kalam.user_cleanup_interval = 0
kalam.job_cleanup_interval = 0
kalam.stream_eviction_interval = 0
kalam.live_query_cleanup_interval = 0
});

$node->safe_psql('postgres', 'CREATE DATABASE src');
$node->safe_psql('src', q{
	CREATE EXTENSION kalamdb;
	SELECT kalam.create_user('alice', 'alice-secret-1', 'user', 'alice@example.com');
	SELECT kalam.create_user('Bob', 'bob-secret-123', 'dba');
	SELECT kalam.create_user('carol', 'carol-secret-1', 'service');
	SELECT kalam.drop_user('carol');
	SELECT kalam.set_password('root', 'root-secret-12');
	SELECT kalam.create_namespace('chat');
	CREATE TABLE chat.messages (id bigint PRIMARY KEY, body text);
	INSERT INTO chat.messages VALUES (1, 'hello');
	INSERT INTO system.storages (storage_id, storage_name, storage_type, base_directory)
	VALUES ('s3-eu', 'S3 Europe', 's3', 's3://bucket/kalam');
	SELECT kalam.alter_user('alice', storage_id => 's3-eu');
	INSERT INTO system.jobs (job_id, job_type, status, message, created_at, finished_at)
	VALUES (kalam.new_job_id('flush'), 'flush', 'completed', 'done before the dump', now(), now());
});
# a failed login, recorded in its own transaction
my ($ret, $out, $err) = $node->psql('src', q{SELECT kalam.authenticate('alice', 'wrong-password-1')});
like($err, qr/password authentication failed/, 'a failed login before the dump');

my $dump = "$PostgreSQL::Test::Utils::tmp_check/src.dump";
$node->command_ok([ 'pg_dump', '-Fc', '-f', $dump, '-d', $node->connstr('src') ], 'pg_dump');
$node->safe_psql('postgres', 'CREATE DATABASE dst');
$node->command_ok([ 'pg_restore', '--exit-on-error', '-d', $node->connstr('dst'), $dump ],
	'pg_restore into a fresh database');

foreach my $table (qw(users namespaces tables storages jobs audit_log))
{
	my $q = "SELECT count(*) || ' ' || coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '')"
	  . " FROM system.$table t";
	is($node->safe_psql('dst', $q), $node->safe_psql('src', $q),
		"system.$table: every row kept");
}

foreach my $login ([ 'alice', 'alice-secret-1' ], [ 'BOB', 'bob-secret-123' ], [ 'root', 'root-secret-12' ])
{
	my ($name, $password) = @$login;
	is( $node->safe_psql('dst', "SELECT kalam.authenticate('$name', '$password') = (SELECT user_id FROM system.users WHERE username = '$name')"),
		't', "$name can log in after the restore");
}
($ret, $out, $err) = $node->psql('dst', q{SELECT kalam.authenticate('carol', 'carol-secret-1')});
like($err, qr/password authentication failed/, 'the dropped user stays dropped');
is($node->safe_psql('dst', q{SELECT failed_login_attempts FROM system.users WHERE username = 'alice'}),
	'0', 'the successful login after restore reset the failure count');
is($node->safe_psql('dst', q{SELECT body FROM chat.messages}), 'hello', 'the namespace schema and its table came back');
is($node->safe_psql('dst', q{SELECT kalam.create_user('dave', 'dave-secret-12') IS NOT NULL}),
	't', 'new users can be created after the restore');

$node->stop;
done_testing();
