# Owners evicted from a small owner map (kalam.owner_map_entries = 1024)
# are found again through the owner index.  An owner that is, so far, the
# only one with rows on the open admission page must not take that page as
# its own when it comes back: the page goes on taking in new owners, and
# the owner keeps at most kalam.small_owner_rows rows there.
use strict;
use warnings;
use FindBin;
use lib $FindBin::Bin;
use KalamNode;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = KalamNode::start('eviction', "kalam.owner_map_entries = 1024\n");
$node->safe_psql('postgres', q{
	CREATE EXTENSION kalamdb;
	CREATE TABLE ev (owner kalam.user_id NOT NULL, n int NOT NULL) USING kalamdb;
	CREATE INDEX ON ev (owner);
	CREATE TABLE flood (owner kalam.user_id NOT NULL) USING kalamdb;
	CREATE INDEX ON flood (owner);
	INSERT INTO ev VALUES ('first', 0);
});

# Many more owners than the map holds go through another table, evicting
# first's entry; batches of new owners keep ev's own entry (its admission
# page) in use, going to pages of their own (a batch of more than
# small_owner_rows rows does)
my $copy = "$PostgreSQL::Test::Utils::tmp_check/batch.copy";
for my $round (1 .. 30)
{
	open my $fh, '>', $copy or die;
	print $fh "batch$round\t$_\n" for 1 .. 6;
	close $fh;
	$node->safe_psql('postgres', qq{
		INSERT INTO flood SELECT ('f$round-' || i)::kalam.user_id FROM generate_series(1, 128) i;
		COPY ev FROM '$copy';
	});
}

# first comes back, and new owners come in, taking turns
$node->safe_psql('postgres', qq{INSERT INTO ev VALUES ('first', $_); INSERT INTO ev VALUES ('new$_', $_);})
  for 1 .. 10;

my $first_page = q{(SELECT (ctid::text::point)[0] FROM ev WHERE owner = 'first' AND n = 0)};
is($node->safe_psql('postgres', qq{
	SELECT count(*) FROM ev WHERE owner = 'first' AND (ctid::text::point)[0] = $first_page}),
	'5', "the owner keeps small_owner_rows rows on the admission page, no more");
is($node->safe_psql('postgres', q{
	SELECT count(DISTINCT (ctid::text::point)[0]) FROM ev WHERE owner = 'first'}),
	'2', 'and goes on to a page of its own');
is($node->safe_psql('postgres', q{
	WITH r AS (SELECT (ctid::text::point)[0] AS page, owner, count(*) AS n FROM ev GROUP BY 1, 2)
	SELECT count(*) FROM (SELECT page FROM r GROUP BY page HAVING count(*) > 1 AND max(n) > 5) s}),
	'0', 'no page mixes owners beyond their share of a shared page');

$node->stop;
done_testing();
