# kalam.new_row_id() after a restart and after a crash: the generator's
# state lives in shared memory, which forgets the last id; ids a burst
# took from milliseconds to come (more than 4096 in one) must not come
# again.  A burst may run at most a tenth of a second ahead of the clock,
# and the generator starts that far ahead again.
use strict;
use warnings;
use FindBin;
use lib $FindBin::Bin;
use KalamNode;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = KalamNode::start('row_ids');
$node->safe_psql('postgres', 'CREATE EXTENSION kalamdb');

# a burst of ids as fast as one session makes them (about ten million a
# second here, where the generator's milliseconds hold 4096 each); what
# the burst's last id tells against the clock at its end
my $burst = q{
	SELECT max(r), extract(epoch FROM kalam.row_id_time(max(r)) - clock_timestamp()) * 1000
	FROM (SELECT kalam.new_row_id() AS r FROM generate_series(1, 5000000)) s};

foreach my $stop ('fast', 'immediate')
{
	my ($last, $lead_ms) = split /\|/, $node->safe_psql('postgres', $burst);
	cmp_ok($lead_ms, '<=', 101, "before a $stop stop, a burst runs at most 100 ms ahead of the clock");
	$node->stop($stop);
	$node->start;
	my $first = $node->safe_psql('postgres', 'SELECT kalam.new_row_id()');
	is($node->safe_psql('postgres', "SELECT '$first'::kalam.row_id > '$last'::kalam.row_id"), 't',
		"after a $stop stop, the first id is greater than the last one before it");
	cmp_ok($node->safe_psql('postgres',
			q{SELECT extract(epoch FROM kalam.row_id_time(kalam.new_row_id()) - clock_timestamp()) * 1000}),
		'<=', 101, 'and tells the time to a tenth of a second');
}

$node->stop;
done_testing();
