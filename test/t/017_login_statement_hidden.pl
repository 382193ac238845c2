# A login's statement holds a password: pg_stat_activity shows it to every
# session of the same role while the password is hashed, and an error
# during the login (a failed one) would log it.  A login hides its
# statement from both; other statements' errors are logged as ever.
use strict;
use warnings;
use FindBin;
use lib $FindBin::Bin;
use KalamNode;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

# (the test framework logs every statement: not here)
my $node = KalamNode::start('hidden', "kalam.bcrypt_cost = 4\nlog_min_error_statement = error\nlog_statement = none\n");
$node->safe_psql('postgres', q{
	CREATE EXTENSION kalamdb;
	SELECT kalam.create_user('bob', 'bob-secret-123');
	SET kalam.bcrypt_cost = 14;
	SELECT kalam.create_user('slow', 'slow-secret-123');
});

# a failed login, then an ordinary error in the same session
my $offset = -s $node->logfile;
my $s = $node->background_psql('postgres', on_error_stop => 0);
$s->query(q{SELECT kalam.login('bob', 'wrong-pass-1234')});
like($s->{stderr}, qr/password authentication failed/, 'the login fails');
$s->{stderr} = '';
$s->query(q{SELECT 1 / 0 AS marker_7f3a});
like($s->{stderr}, qr/division by zero/, 'and so does a division by zero');
$s->quit;
my $log = slurp_file($node->logfile, $offset);
like($log, qr/password authentication failed/, 'the failed login is logged');
unlike($log, qr/wrong-pass-1234/, 'without its statement, or the password in it');
like($log, qr/STATEMENT:\s+SELECT 1 \/ 0 AS marker_7f3a/, 'the next error of the session has its statement logged');

# while a (slow) password is hashed, the session shows no statement
my $login = $node->background_psql('postgres');
$login->query_until(qr/started/, q{\echo started
SELECT kalam.login('slow', 'slow-secret-123');
});
ok($node->poll_query_until('postgres', q{
	SELECT count(*) = 1 FROM pg_stat_activity
	WHERE query = '-- a kalamdb login (its statement is hidden)' AND state = 'active'}),
	'pg_stat_activity shows a login under way without its statement');
ok($node->poll_query_until('postgres', q{
	SELECT count(*) = 1 FROM pg_stat_activity
	WHERE query = '-- a kalamdb login (its statement is hidden)' AND state = 'idle'}),
	'and so it stays once the login is over');
is($node->safe_psql('postgres', q{SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%slow-secret%' AND pid <> pg_backend_pid()}),
	'0', 'the password is nowhere');
$login->quit;

$node->stop;
done_testing();
