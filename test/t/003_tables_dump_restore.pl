# USER and SHARED tables survive pg_dump / pg_restore: data, the kalamdb
# access method, row-level security and its policies, the live query
# triggers, the registration in system.tables (made by register_table or
# by CREATE TABLE ... WITH (type = ...)), and so the isolation between
# users.
use strict;
use warnings;
use FindBin;
use lib $FindBin::Bin;
use KalamNode;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = KalamNode::start('dump', qq{
kalam.bcrypt_cost = 4
});

$node->safe_psql('postgres', 'CREATE DATABASE src');
$node->safe_psql('src', q{
	CREATE EXTENSION kalamdb;
	CREATE ROLE app;
	SELECT kalam.create_user('alice', 'alice-secret-1');
	SELECT kalam.create_user('bob', 'bob-secret-123');
	SELECT kalam.create_user('sam', 'sam-secret-123', 'service');
	SELECT kalam.create_namespace('chat');
	GRANT USAGE ON SCHEMA chat TO app;
	CREATE TABLE chat.messages (owner kalam.user_id, id bigint, body text) USING kalamdb;
	SELECT kalam.register_table('chat.messages', 'user');
	CREATE TABLE chat.rooms (id int PRIMARY KEY, name text);
	SELECT kalam.register_table('chat.rooms', 'shared', 'private');
	CREATE TABLE chat.notes (owner kalam.user_id, note text) USING kalamdb WITH (type = 'user');
	GRANT SELECT, INSERT ON chat.messages, chat.rooms, chat.notes TO app;
	INSERT INTO chat.notes SELECT user_id, 'note of ' || username FROM system.users WHERE username IN ('alice', 'bob');
	INSERT INTO chat.rooms VALUES (1, 'general');
	INSERT INTO chat.messages
	SELECT (SELECT user_id FROM system.users WHERE username = (ARRAY['alice', 'bob'])[1 + i % 2]::kalam.user_name),
		   i, 'message ' || i
	FROM generate_series(1, 2000) i;
});

my $dump = "$PostgreSQL::Test::Utils::tmp_check/tables.dump";
$node->command_ok([ 'pg_dump', '-Fc', '-f', $dump, '-d', $node->connstr('src') ], 'pg_dump');
$node->safe_psql('postgres', 'CREATE DATABASE dst');
$node->command_ok([ 'pg_restore', '--exit-on-error', '-d', $node->connstr('dst'), $dump ], 'pg_restore');

foreach my $q (
	q{SELECT count(*) || ' ' || md5(string_agg(id || body, ',' ORDER BY id)) FROM chat.messages},
	q{SELECT string_agg(name, ',') FROM chat.rooms},
	q{SELECT string_agg(concat_ws(' ', table_id, table_type, access_level, relation, owner_column), ';' ORDER BY table_id) FROM system.tables},
	q{SELECT string_agg(a.amname, ',' ORDER BY c.relname) FROM pg_class c JOIN pg_am a ON a.oid = c.relam WHERE c.relnamespace = 'chat'::regnamespace AND c.relkind = 'r'},
	q{SELECT string_agg(polname || ':' || pg_get_expr(polqual, polrelid), ';' ORDER BY polrelid::regclass::text, polname) FROM pg_policy},
	q{SELECT string_agg(relname || ':' || relrowsecurity || relforcerowsecurity, ',' ORDER BY relname) FROM pg_class WHERE relnamespace = 'chat'::regnamespace AND relkind = 'r'},
	q{SELECT string_agg(tgrelid::regclass || ':' || tgname, ',' ORDER BY tgrelid::regclass::text, tgname) FROM pg_trigger WHERE NOT tgisinternal},
	q{SELECT string_agg(note, ',' ORDER BY note) FROM chat.notes})
{
	is($node->safe_psql('dst', $q), $node->safe_psql('src', $q), "same after restore: $q");
}

my $as = sub {
	my ($user, $password, $sql) = @_;
	return $node->safe_psql('dst', qq{
		SELECT kalam.login('$user', '$password') IS NOT NULL;
		SET ROLE app;
		$sql});
};
is($as->('alice', 'alice-secret-1', 'SELECT count(*) FROM chat.messages'), "t\n1000",
	'alice sees her 1000 messages after the restore');
is($as->('bob', 'bob-secret-123', q{SELECT count(*) FROM chat.messages WHERE body = 'message 2'}), "t\n0",
	q{bob does not see alice's});
is($as->('alice', 'alice-secret-1', 'SELECT string_agg(note, \',\') FROM chat.notes'), "t\nnote of alice",
	'a table registered by CREATE TABLE ... WITH (type = \'user\') isolates users after the restore too');
is($as->('alice', 'alice-secret-1', 'SELECT count(*) FROM chat.rooms'), "t\n0",
	'a private shared table stays closed to users');
is($as->('sam', 'sam-secret-123', 'SELECT count(*) FROM chat.rooms'), "t\n1",
	'and open to services');
cmp_ok($node->safe_psql('dst', q{
	SELECT max(pages) FROM (SELECT owner, count(DISTINCT (ctid::text::point)[0]) AS pages
							FROM chat.messages GROUP BY owner) s}),
	'<=', $node->safe_psql('dst', q{
	SELECT max(need) + 1 FROM (SELECT owner, ceil(sum(pg_column_size(m.*) + 8) / 8168.0) AS need
							   FROM chat.messages m GROUP BY owner) s}),
	'the restored rows are placed by owner (pages per owner at most the minimum + 1)');

$node->stop;
done_testing();
