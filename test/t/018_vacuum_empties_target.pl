# An insert chooses its page before it pins it, mostly without reading it
# (the owner map's fast path).  Should a VACUUM empty that page in between,
# another owner may take it as empty: the insert must then not put its row
# there too.  And once the insert has pinned its page, a VACUUM may still
# empty it (its second pass needs no cleanup lock), but no other owner may
# take it then.  The moments in between are microseconds long: the
# inserting backend is stopped there with gdb while the VACUUM and the
# other owner's insert run.  Nor is a page a read pruned to dead line
# pointers an empty page to take.
use strict;
use warnings;
use FindBin;
use lib $FindBin::Bin;
use KalamNode;
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);

my ($gdb) = map { "$_/gdb" } grep { -x "$_/gdb" } split /:/, $ENV{PATH};
BAIL_OUT('gdb is needed (scripts/common.sh installs it)') unless $gdb;

my $node = KalamNode::start('vacuum_target', "autovacuum = off\nkalam.small_owner_rows = 0\n");
my @connection = ('-h', $node->host, '-p', $node->port, '-d', 'postgres');
$node->safe_psql('postgres', q{
	CREATE EXTENSION kalamdb;
	CREATE TABLE t (owner kalam.user_id NOT NULL, n int NOT NULL, body text NOT NULL) USING kalamdb;
	CREATE INDEX ON t (owner);
});

# Run $insert in a session stopped by gdb at $breakpoint (after the
# function returns, with finish); meanwhile the other sessions run @meanwhile.
sub insert_stopped_at
{
	my ($breakpoint, $finish, $insert, @meanwhile) = @_;
	my ($in, $out, $err) = ('', '', '');
	my $session = IPC::Run::start([ 'psql', '-X', '-A', '-t', '-v', 'ON_ERROR_STOP=1', @connection ],
		'<', \$in, '>', \$out, '2>', \$err);
	$in .= "SELECT pg_backend_pid();\n";
	$session->pump until $out =~ /^(\d+)$/m;
	my $pid = $1;

	my $script = "$PostgreSQL::Test::Utils::tmp_check/gdb_$pid";
	open my $fh, '>', $script or die;
	print $fh "set pagination off\nset confirm off\n";
	print $fh "handle SIGUSR1 nostop noprint pass\nhandle SIGUSR2 nostop noprint pass\n";
	print $fh "handle SIGINT nostop noprint pass\nhandle SIGALRM nostop noprint pass\n";
	print $fh "break $breakpoint\nshell touch $script.ready\ncontinue\n";
	print $fh "finish\n" if $finish;
	print $fh "shell psql -X -q -h " . $node->host . ' -p ' . $node->port . " -d postgres -c \"$_\"\n"
	  foreach @meanwhile;
	print $fh "detach\nquit\n";
	close $fh;

	my ($gdb_out, $gdb_err) = ('', '');
	my $debugger = IPC::Run::start([ $gdb, '-q', '-batch', '-p', $pid, '-x', $script ],
		'>', \$gdb_out, '2>', \$gdb_err);
	# the breakpoint is set before the insert starts
	my $waited = 0;
	while (!-e "$script.ready" && $waited++ < 600)
	{
		usleep(100_000);
	}
	$in .= "$insert\n\\q\n";
	$session->pump while length $in;
	$debugger->finish;
	$session->finish;
	like($gdb_out, qr/Breakpoint 1, /, "the insert stopped at $breakpoint")
	  or diag("gdb: $gdb_out\n$gdb_err");
	is($err, '', 'the stopped insert succeeded') or diag($err);
}

# Which pages hold more than one owner's rows
sub mixed_pages
{
	return $node->safe_psql('postgres', q{
		SELECT coalesce(string_agg(format('%s: %s', page, owners), '; '), 'none') FROM (
			SELECT (ctid::text::point)[0] AS page, string_agg(DISTINCT owner::text, ',') AS owners
			FROM t GROUP BY 1 HAVING count(DISTINCT owner) > 1) m});
}

# 1. Chosen by the fast path, emptied and taken by another owner before the
#    pin.  Owner a's page 0 (page 1 keeps the relation from being
#    truncated); a's map entry is validated after a VACUUM, so that a's
#    next insert takes the fast path; then all of a's rows go.
$node->safe_psql('postgres', q{
	INSERT INTO t SELECT 'a', g, repeat('x', 100) FROM generate_series(1, 10) g;
	INSERT INTO t SELECT 'd', g, repeat('x', 100) FROM generate_series(1, 10) g;
	VACUUM t;
	INSERT INTO t VALUES ('a', 11, 'y');
	INSERT INTO t VALUES ('a', 12, 'y');
	DELETE FROM t WHERE owner = 'a';
});
insert_stopped_at('owner_map_reserve', 1, "INSERT INTO t VALUES ('a', 100, 'z');",
	'VACUUM t', "INSERT INTO t VALUES ('c', 1, 'c')");
is($node->safe_psql('postgres', q{SELECT count(*) FROM t WHERE owner IN ('a', 'c')}), '2',
	'both rows are there');
is(mixed_pages(), 'none', 'a page emptied before the pin is not shared by two owners');

# 2. Pinned, then emptied: owner e fills page its page with rows, deletes
#    them, and a read prunes them (dead line pointers); VACUUM removes
#    those without the cleanup lock the insert's pin denies it.
$node->safe_psql('postgres', q{
	TRUNCATE t;
	INSERT INTO t SELECT 'e', g, repeat('x', 100) FROM generate_series(1, 54) g;
	INSERT INTO t SELECT 'd', g, repeat('x', 100) FROM generate_series(1, 10) g;
	VACUUM t;
	INSERT INTO t VALUES ('e', 55, 'y');
	DELETE FROM t WHERE owner = 'e';
});
$node->safe_psql('postgres', 'SELECT count(*) FROM t');
insert_stopped_at('heap_insert', 0, "INSERT INTO t VALUES ('e', 100, 'z');",
	'VACUUM t', "INSERT INTO t VALUES ('f', 1, 'f')");
is($node->safe_psql('postgres', q{SELECT count(*) FROM t WHERE owner IN ('e', 'f')}), '2',
	'both rows are there');
is(mixed_pages(), 'none', 'a page pinned by an insert is not taken as empty by another owner');

# 3. Emptied by a read, with no VACUUM at all.  Owner x's first row goes
#    to the admission page 0 (shared pages for new owners again), d's rows
#    come in one batch, to a page of d's own; x's row is deleted and
#    vacuumed away, and a's batch takes page 0, emptied, as a's own.  a's
#    rows are deleted too, and a scan prunes them to dead line pointers.
#    Such a page is no empty page to take: x, whose stale hint still names
#    it, must not take it while a's inserts still have it as a's own.
$node->safe_psql('postgres', q{ALTER SYSTEM SET kalam.small_owner_rows = 5; SELECT pg_reload_conf()});
my $dir = $PostgreSQL::Test::Utils::tmp_check;
open my $copy, '>', "$dir/d.copy" or die;
print $copy "d\t$_\t" . ('d' x 100) . "\n" foreach 1 .. 10;
close $copy;
open $copy, '>', "$dir/a.copy" or die;
print $copy "a\t$_\t" . ('a' x 140) . "\n" foreach 1 .. 42;
close $copy;
$node->safe_psql('postgres', qq{
	TRUNCATE t;
	INSERT INTO t VALUES ('x', 1, 'x');
	COPY t FROM '$dir/d.copy';
	DELETE FROM t WHERE owner = 'x';
	VACUUM t;
	COPY t FROM '$dir/a.copy';
});
is($node->safe_psql('postgres', q{SELECT count(*) FROM t WHERE owner = 'a' AND (ctid::text::point)[0] = 0}), '42',
	'page 0, emptied, was taken by a');
$node->safe_psql('postgres', q{DELETE FROM t WHERE owner = 'a'});
# (the page is nearly full: the scan prunes it)
$node->safe_psql('postgres', 'SELECT count(*) FROM t');
$node->safe_psql('postgres', q{
	INSERT INTO t VALUES ('x', 2, 'x again');
	INSERT INTO t VALUES ('a', 100, 'a again');
});
is(mixed_pages(), 'none', 'a page pruned empty by a read is not taken by another owner');

$node->stop;
done_testing();
