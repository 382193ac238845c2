# The target page survives interrupts.  heap takes the page chosen for a
# row from the BulkInsertState pinning it, or else from the relation's
# target block, which a signal handled at any CHECK_FOR_INTERRUPTS() can
# reset (PROCSIGNAL_BARRIER_SMGRRELEASE, sent by DROP DATABASE to every
# backend).  Storing a row's large values checks for interrupts once per
# TOAST chunk, before heap looks for the row's page: were the target only
# the relation's, heap would take a page from the free space map, here
# any owner's.  Rows with large values are inserted while another session
# creates and drops a database over and over: each lands among its own
# owner's rows.
use strict;
use warnings;
use FindBin;
use lib $FindBin::Bin;
use KalamNode;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = KalamNode::start('pinned', "autovacuum = off\n");
$node->safe_psql('postgres', q{
	CREATE EXTENSION kalamdb;
	CREATE TABLE docs (owner kalam.user_id NOT NULL, n int NOT NULL, body text NOT NULL) USING kalamdb;
	CREATE INDEX ON docs (owner);
	-- 40 owners on pages of their own, half of each page freed: the free
	-- space map offers every one of them
	INSERT INTO docs SELECT ('u' || o)::kalam.user_id, n, repeat('x', 150)
	FROM generate_series(1, 40) o, generate_series(1, 100) n;
	DELETE FROM docs WHERE n % 2 = 0;
	VACUUM docs;
});

my $dir = $PostgreSQL::Test::Utils::tmp_check;
open my $fh, '>', "$dir/churn.pgbench" or die;
print $fh "CREATE DATABASE churn;\nDROP DATABASE churn;\n";
close $fh;
open $fh, '>', "$dir/large.pgbench" or die;
print $fh q{INSERT INTO docs SELECT 'writer', 1000, string_agg(md5(random()::text), '') FROM generate_series(1, 2000);
};
close $fh;

my @connection = ('-h', $node->host, '-p', $node->port, 'postgres');
my ($churn_out, $churn_err);
my $churn = IPC::Run::start([ 'pgbench', '-n', '-c', '1', '-T', '8', '-f', "$dir/churn.pgbench", @connection ],
	'>', \$churn_out, '2>', \$churn_err);
$node->command_ok([ 'pgbench', '-n', '-c', '2', '-T', '6', '-f', "$dir/large.pgbench", @connection ],
	'rows with large values are inserted while databases are dropped');
$churn->finish;
like($churn_out, qr/number of transactions actually processed: [1-9]/, 'databases were created and dropped meanwhile');

my $rows = $node->safe_psql('postgres', q{SELECT count(*) FROM docs WHERE owner = 'writer'});
cmp_ok($rows, '>', 0, "$rows rows were inserted");
is($node->safe_psql('postgres', q{
	WITH r AS (SELECT owner, (ctid::text::point)[0] AS page FROM docs),
	shared AS (SELECT page FROM r GROUP BY page HAVING count(DISTINCT owner) > 1)
	SELECT count(*) FROM r WHERE owner = 'writer' AND page IN (SELECT page FROM shared)}),
	'0', 'none of them landed on a page of other owners');

$node->stop;
done_testing();
