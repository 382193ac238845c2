# The kalamdb access method under an immediate stop in the middle of
# concurrent inserts: after the restart every committed row is there, every
# index agrees with the table (amcheck, heapallindexed), and placement goes
# on working with the empty owner map of a fresh start.
use strict;
use warnings;
use IPC::Run;
use FindBin;
use lib $FindBin::Bin;
use KalamNode;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = KalamNode::start('crash');
$node->safe_psql('postgres', q{
	CREATE EXTENSION kalamdb;
	CREATE EXTENSION amcheck;
	SELECT kalam.create_namespace('app');
	CREATE TABLE app.messages (
		owner kalam.user_id NOT NULL,
		id bigint GENERATED ALWAYS AS IDENTITY,
		body text,
		at timestamptz DEFAULT now()) USING kalamdb;
	SELECT kalam.register_table('app.messages', 'user');
	CREATE UNIQUE INDEX ON app.messages (id);
});

# every index agrees with the table
my $indexes_checked = q{
	SELECT count(*) FROM (SELECT bt_index_check(indexrelid, true) FROM pg_index
						  WHERE indrelid = 'app.messages'::regclass) s};

my $script = "$PostgreSQL::Test::Utils::tmp_check/insert.pgbench";
open my $fh, '>', $script or die;
print $fh q{\set o random(1, 200)
INSERT INTO app.messages (owner, body) VALUES (('u' || :o)::kalam.user_id, repeat('m', 100));
};
close $fh;

# four clients insert for 20 seconds; the server is stopped under them
my ($out, $err) = ('', '');
my $pgbench = IPC::Run::start(
	[ 'pgbench', '-n', '-c', '4', '-j', '2', '-T', '20', '-f', $script,
	  '-h', $node->host, '-p', $node->port, 'postgres' ],
	'>', \$out, '2>', \$err);
sleep 4;
$node->stop('immediate');
$pgbench->finish;
my ($committed) = $out =~ /number of transactions actually processed: (\d+)/;
$committed //= 0;
ok($committed > 100, "pgbench committed $committed inserts before the stop");

$node->start;
my $rows = $node->safe_psql('postgres', 'SELECT count(*) FROM app.messages');
cmp_ok($rows, '>=', $committed, "after the restart all $committed acknowledged rows are there ($rows rows)");
is($node->safe_psql('postgres', $indexes_checked),
	'2', 'bt_index_check(heapallindexed) passes on both indexes');

# placement after the restart: the map is empty, the owner index finds
# each owner's last page, and rows keep going to their owners' pages
my $pages_of_u1 = q{SELECT count(DISTINCT (ctid::text::point)[0]) FROM app.messages WHERE owner = 'u1'};
my $before = $node->safe_psql('postgres', $pages_of_u1);
my $size = q{SELECT pg_relation_size('app.messages') / 8192};
my $size_before = $node->safe_psql('postgres', $size);
$node->safe_psql('postgres', q{
	INSERT INTO app.messages (owner, body)
	SELECT ('u' || (i % 200 + 1))::kalam.user_id, repeat('n', 100) FROM generate_series(1, 4000) i});
my $after = $node->safe_psql('postgres', $pages_of_u1);
cmp_ok($after - $before, '<=', 1, "20 more rows of u1 take at most one more page ($before -> $after)");
# 20 rows (3 kB) per owner fill up the owners' last pages first: the table
# grows by about the 75 pages the rows need, where owners whose last pages
# were not found again would take 200 new ones
my $grown = $node->safe_psql('postgres', $size) - $size_before;
cmp_ok($grown, '<', 150, "the 200 owners' rows went on after their last pages ($grown new pages)");
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM (
		SELECT (ctid::text::point)[0] AS page FROM app.messages
		WHERE id > (SELECT max(id) - 4000 FROM app.messages)
		GROUP BY 1 HAVING count(DISTINCT owner) > 1) s}),
	'0', 'the rows inserted after the restart share no page with other owners');
is($node->safe_psql('postgres', $indexes_checked),
	'2', 'indexes still check out');

# kalam.compact() and a crash: rows moved by a committed compaction, and by
# one the stop interrupts, come back exactly as they were, indexes agreeing
my $digest = q{SELECT md5(string_agg(m::text, ',' ORDER BY id)) FROM app.messages m};

# delete every nth row, VACUUM, insert 2000 rows of 50 owners: holes to gather
sub make_holes
{
	my ($nth, $fill) = @_;
	$node->safe_psql('postgres', qq{
		DELETE FROM app.messages WHERE id % $nth = 0;
		VACUUM app.messages;
		INSERT INTO app.messages (owner, body)
		SELECT ('u' || (i % 50 + 1))::kalam.user_id, repeat('$fill', 100) FROM generate_series(1, 2000) i});
	return $node->safe_psql('postgres', $digest);
}

my $rows_before = make_holes(3, 'c');
my $moved = $node->safe_psql('postgres', q{SELECT kalam.compact('app.messages')});
cmp_ok($moved, '>', 0, "a compaction moved $moved rows");
$node->stop('immediate');
$node->start;
is($node->safe_psql('postgres', $digest), $rows_before, 'after a crash, the compacted rows are the same rows');
is($node->safe_psql('postgres', $indexes_checked), '2', 'and the indexes check out');

$rows_before = make_holes(5, 'd');
my $open = $node->background_psql('postgres');
$open->query_safe('BEGIN');
my $moving = $open->query_safe(q{SELECT kalam.compact('app.messages')});
cmp_ok($moving, '>', 0, "a compaction moved $moving rows and has not committed");
$node->stop('immediate');
eval { $open->quit; };
$node->start;
is($node->safe_psql('postgres', $digest), $rows_before, 'after a crash in the middle, the rows are as before it');
is($node->safe_psql('postgres', $indexes_checked), '2', 'and the indexes check out');

$node->stop;
done_testing();
