# VACUUM and the owner map's fast path.  While a kalamdb table is being
# vacuumed, inserts into it look at their target page first (a page the
# VACUUM empties may change owner before it ends); inserts into other
# kalamdb tables do not.  Once the VACUUM is over, an owner's inserts go
# back to the fast path after one look.  Whether an insert looked shows in
# its buffer count (EXPLAIN (ANALYZE, BUFFERS)): the look reads the target
# page once more.
use strict;
use warnings;
use IPC::Run;
use FindBin;
use lib $FindBin::Bin;
use KalamNode;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = KalamNode::start('vacuum', qq{
autovacuum = off
});
$node->safe_psql('postgres', q{
	CREATE EXTENSION kalamdb;
	CREATE TABLE quiet (owner kalam.user_id NOT NULL, body text) USING kalamdb;
	CREATE INDEX ON quiet (owner);
	CREATE TABLE busy (owner kalam.user_id NOT NULL, body text) USING kalamdb;
	CREATE INDEX ON busy (owner);
	INSERT INTO quiet SELECT 'a', repeat('q', 100) FROM generate_series(1, 20);
	INSERT INTO busy SELECT ('u' || (i % 50))::kalam.user_id, repeat('b', 100)
	FROM generate_series(1, 20000) i;
	-- the buffers one insert of a short row touches
	CREATE FUNCTION insert_buffers(t regclass, owner kalam.user_id) RETURNS bigint
	LANGUAGE plpgsql AS $$
	DECLARE
		plan json;
	BEGIN
		EXECUTE format('EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) INSERT INTO %s VALUES (%L, %L)',
					   t, owner, 'x') INTO plan;
		RETURN (plan->0->'Plan'->>'Shared Hit Blocks')::bigint
			 + (plan->0->'Plan'->>'Shared Read Blocks')::bigint;
	END $$;
});

my $probe = $node->background_psql('postgres');

# the fewest buffers of four inserts in a row (the first may look at its
# page, and the first of a session also reads the catalogs)
sub fewest_buffers
{
	my ($table, $owner) = @_;
	my $out = $probe->query_safe(
		"SELECT min(insert_buffers('$table', '$owner')) FROM generate_series(1, 4)");
	chomp $out;
	return $out;
}

sub vacuuming
{
	return $node->safe_psql('postgres',
		q{SELECT string_agg(relid::regclass::text, ',') FROM pg_stat_progress_vacuum});
}

my %before = (quiet => fewest_buffers('quiet', 'a'), busy => fewest_buffers('busy', 'u1'));
ok($before{quiet} > 0 && $before{busy} > 0,
	"inserts on the fast path: quiet $before{quiet} buffers, busy $before{busy}");

# a VACUUM of busy, slowed down to last far longer than this test needs
my ($out, $err) = ('', '');
my $vacuum = IPC::Run::start(
	[ 'psql', '-X', '-h', $node->host, '-p', $node->port, '-d', 'postgres',
	  '-c', 'SET vacuum_cost_delay = 100', '-c', 'SET vacuum_cost_limit = 1',
	  '-c', 'VACUUM busy' ],
	'>', \$out, '2>', \$err);
$node->poll_query_until('postgres', q{SELECT count(*) > 0 FROM pg_stat_progress_vacuum})
  or die 'the VACUUM did not start';

my %during = (quiet => fewest_buffers('quiet', 'a'), busy => fewest_buffers('busy', 'u1'));
is(vacuuming(), 'busy', 'the VACUUM of busy still runs after the inserts');
is($during{quiet}, $before{quiet}, 'inserts into another table keep the fast path');
is($during{busy}, $before{busy} + 1, 'every insert into the table being vacuumed looks at its page');
# new owners still share the admission page meanwhile (none of their rows
# is on it yet when their inserts look at it again)
$node->safe_psql('postgres', q{
	INSERT INTO busy SELECT ('new' || i)::kalam.user_id, 'n' FROM generate_series(1, 20) i});
is($node->safe_psql('postgres', q{
	SELECT count(DISTINCT (ctid::text::point)[0]) FROM busy WHERE owner::text LIKE 'new%'}),
	'1', 'twenty new owners with a row each share one page during the VACUUM');

$node->safe_psql('postgres', q{SELECT pg_cancel_backend(pid) FROM pg_stat_progress_vacuum});
$vacuum->finish;
like($err, qr/canceling statement due to user request/, 'the VACUUM was cancelled');
is(vacuuming(), '', 'no VACUUM runs any more');

is(fewest_buffers('busy', 'u1'), $before{busy},
	'after the VACUUM, inserts into its table are back on the fast path');
is(fewest_buffers('quiet', 'a'), $before{quiet}, 'and so are those into the other table');

$probe->quit;
$node->stop;
done_testing();
