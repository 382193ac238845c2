# pg_upgrade of a cluster using kalamdb (PostgreSQL 15 to 15: the binary-
# upgrade dump and restore, and the transfer of the files): users and
# logins, USER / SHARED / STREAM tables with their access method, policies
# and registration, jobs and the audit log come through; placement,
# isolation and the worker work in the new cluster.
use strict;
use warnings;
use Cwd;
use File::Path qw(rmtree);
use FindBin;
use lib $FindBin::Bin;
use KalamNode;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $old = KalamNode::start('old', "kalam.bcrypt_cost = 4\n");
$old->safe_psql('postgres', 'CREATE DATABASE app');
$old->safe_psql('app', q{
	CREATE EXTENSION kalamdb;
	CREATE EXTENSION amcheck;
	SELECT kalam.create_user('alice', 'alice-secret-1');
	SELECT kalam.create_user('bob', 'bob-secret-123');
	SELECT kalam.set_password('root', 'root-secret-1');
	SELECT kalam.create_namespace('chat');
	CREATE TABLE chat.messages (owner kalam.user_id, id bigint, body text) USING kalamdb;
	SELECT kalam.register_table('chat.messages', 'user');
	CREATE TABLE chat.notes (owner kalam.user_id, note text) USING kalamdb WITH (type = 'user');
	CREATE TABLE chat.rooms (id int PRIMARY KEY, name text);
	SELECT kalam.register_table('chat.rooms', 'shared', 'private');
	CREATE TABLE chat.typing (owner kalam.user_id, at timestamptz DEFAULT now(), what text) USING kalamdb;
	SELECT kalam.register_table('chat.typing', 'stream', ttl => interval '1 hour');
	INSERT INTO chat.rooms VALUES (1, 'general');
	INSERT INTO chat.messages
	SELECT (SELECT user_id FROM system.users WHERE username = (ARRAY['alice', 'bob'])[1 + i % 2]::kalam.user_name),
		   i, 'message ' || i
	FROM generate_series(1, 2000) i;
	INSERT INTO chat.notes SELECT user_id, 'note of ' || username FROM system.users WHERE username IN ('alice', 'bob');
	INSERT INTO chat.typing (owner, what) SELECT user_id, 'typing' FROM system.users WHERE username = 'alice';
	SELECT kalam.drop_user('bob');
	SELECT kalam.submit_job('job_cleanup', '{}', 'before upgrade');
});
$old->poll_query_until('app', q{SELECT status = 'completed' FROM system.jobs WHERE idempotency_key = 'before upgrade'})
  or die 'the job did not complete';

my @same = (
	q{SELECT count(*) || ' ' || md5(string_agg(owner::text || id || body, ',' ORDER BY id)) FROM chat.messages},
	q{SELECT string_agg(note, ',' ORDER BY note) FROM chat.notes},
	q{SELECT string_agg(concat_ws(' ', username, role, deleted_at IS NOT NULL, password_hash), ';' ORDER BY username) FROM system.users},
	q{SELECT string_agg(concat_ws(' ', table_id, table_type, access_level, relation, owner_column, ttl), ';' ORDER BY table_id) FROM system.tables},
	q{SELECT string_agg(a.amname, ',' ORDER BY c.relname) FROM pg_class c JOIN pg_am a ON a.oid = c.relam WHERE c.relnamespace IN ('chat'::regnamespace, 'system'::regnamespace) AND c.relkind = 'r'},
	q{SELECT string_agg(polname || ':' || pg_get_expr(polqual, polrelid), ';' ORDER BY polrelid::regclass::text, polname) FROM pg_policy},
	q{SELECT string_agg(tgrelid::regclass || ':' || tgname, ',' ORDER BY tgrelid::regclass::text, tgname) FROM pg_trigger WHERE NOT tgisinternal},
	q{SELECT count(*) FROM system.audit_log},
	q{SELECT string_agg(job_type || ':' || status, ',' ORDER BY created_at, job_id) FROM system.jobs},
	q{SELECT count(*) FROM chat.typing});
my %before = map { $_ => $old->safe_psql('app', $_) } @same;
$old->stop;

my $new = PostgreSQL::Test::Cluster->new('new');
$new->init;
$new->append_conf('postgresql.conf', "shared_preload_libraries = 'kalamdb'\nmax_worker_processes = 16\nkalam.bcrypt_cost = 4\n");

my $bindir = $old->config_data('--bindir');
my $cwd = getcwd();
chdir $PostgreSQL::Test::Utils::tmp_check;
command_ok(
	[
		'pg_upgrade', '--no-sync', '-d', $old->data_dir, '-D', $new->data_dir,
		'-b', $bindir, '-B', $bindir, '-s', $new->host,
		'-p', $old->port, '-P', $new->port, '--retain'
	],
	'pg_upgrade');
chdir $cwd;

# pg_upgrade runs both servers in binary-upgrade mode: no kalamdb worker
# may start there (--retain keeps their log)
my @server_logs = glob($new->data_dir . '/pg_upgrade_output.d/*/log/pg_upgrade_server.log');
is(scalar @server_logs, 1, 'the log of the servers pg_upgrade ran');
my $server_log = slurp_file($server_logs[0]);
unlike($server_log, qr/"kalamdb (launcher|worker)"/, 'no kalamdb worker ran during pg_upgrade');
rmtree($new->data_dir . '/pg_upgrade_output.d');

$new->start;

is($new->safe_psql('app', $_), $before{$_}, "same after pg_upgrade: $_") foreach @same;

# logins, and the soft-deleted user stays out
is($new->safe_psql('app', q{SELECT kalam.authenticate('alice', 'alice-secret-1') = (SELECT user_id FROM system.users WHERE username = 'alice')}),
	't', 'alice logs in');
my ($rc, $out, $err) = $new->psql('app', q{SELECT kalam.authenticate('bob', 'bob-secret-123')});
like($err, qr/password authentication failed|invalid user name or password/i, 'bob, soft-deleted, does not');

# isolation: alice sees her rows only, through an index scan of the new cluster
$new->safe_psql('app', q{
	CREATE ROLE app_user;
	GRANT USAGE ON SCHEMA chat TO app_user;
	GRANT SELECT ON chat.messages TO app_user;
});
is($new->safe_psql('app', q{
	SELECT set_config('kalam.user_id', (SELECT user_id::text FROM system.users WHERE username = 'alice'), false) IS NOT NULL;
	SET ROLE app_user;
	SET enable_seqscan = off;
	SELECT count(*) || ' ' || bool_and(owner = kalam.current_user_id()) FROM chat.messages;
}), "t\n1000 true", 'alice sees her 1000 rows only');

# placement: new rows of alice go to her pages, not to the last page
my $pages_before = $new->safe_psql('app', q{SELECT count(DISTINCT (ctid::text::point)[0]) FROM chat.messages WHERE owner = (SELECT user_id FROM system.users WHERE username = 'alice')});
$new->safe_psql('app', q{
	INSERT INTO chat.messages SELECT (SELECT user_id FROM system.users WHERE username = 'alice'), i, 'new ' || i FROM generate_series(2001, 2100) i;
});
my $pages_after = $new->safe_psql('app', q{SELECT count(DISTINCT (ctid::text::point)[0]) FROM chat.messages WHERE owner = (SELECT user_id FROM system.users WHERE username = 'alice')});
ok($pages_after <= $pages_before + 1, "alice's new rows join her pages ($pages_before, then $pages_after)");
is($new->safe_psql('app', q{
	SELECT count(*) FROM chat.messages m
	WHERE id > 2000 AND EXISTS (SELECT 1 FROM chat.messages o
								WHERE (o.ctid::text::point)[0] = (m.ctid::text::point)[0] AND o.owner <> m.owner)
}), '0', 'the new rows share no page with bob');

# indexes are intact
is($new->safe_psql('app', q{
	SELECT count(bt_index_check(c.oid, true)) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
	JOIN pg_am a ON a.oid = c.relam WHERE a.amname = 'btree' AND i.indrelid IN (SELECT relation FROM system.tables UNION SELECT 'system.users'::regclass)
}) > 0 ? 1 : 0, 1, 'bt_index_check passes');

# the worker runs jobs in the new cluster
$new->safe_psql('app', q{SELECT kalam.submit_job('job_cleanup', '{}', 'after upgrade')});
ok($new->poll_query_until('app', q{SELECT status = 'completed' FROM system.jobs WHERE idempotency_key = 'after upgrade'}),
	'the worker runs jobs after pg_upgrade');

$new->stop;
done_testing();
