# A login's statement holds a password (so do create_user's and
# set_password's): pg_stat_activity shows it to every session of the same
# role while the password is hashed, and an error during the statement (a
# failed login) would log it.  Such a statement is hidden from both, to its
# end (a DO that commits in between included); other statements' errors
# are logged as ever, later ones of the same transaction too.  Audit log
# entries go to the server log as well (kalam.log_audit), where a rollback
# does not take them back.
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
$s->{stderr} = '';
# a login that succeeds, then an error in the same statement after a COMMIT
$s->query(q{DO $$ BEGIN PERFORM kalam.login('bob', 'bob-secret-123'); COMMIT; PERFORM 1 / 0; END $$});
like($s->{stderr}, qr/division by zero/, 'a DO that logs in, commits and fails');
$s->{stderr} = '';
# a login in a transaction, then an error in a later statement of it
$s->query(q{BEGIN; SELECT kalam.login('bob', 'bob-secret-123') IS NOT NULL; SELECT 2 / 0 AS marker_8e4b; ROLLBACK});
$s->{stderr} = '';
# create_user fails on a name taken (set_password on an unknown user)
$s->query(q{SELECT kalam.create_user('bob', 'taken-name-pass-77')});
like($s->{stderr}, qr/already taken/, 'create_user of a name taken fails');
$s->{stderr} = '';
$s->query(q{SELECT kalam.set_password('nobody', 'no-such-user-pass-88')});
like($s->{stderr}, qr/does not exist/, 'set_password of an unknown user fails');
# a login and an execute_as whose transactions roll back leave no entry in
# system.audit_log, but one in the server log
my $bob = $node->safe_psql('postgres', q{SELECT user_id FROM system.users WHERE username = 'bob'});
$s->query(q{BEGIN; SELECT kalam.authenticate('bob', 'bob-secret-123') IS NOT NULL; ROLLBACK});
$s->query(qq{SELECT kalam.logout(); BEGIN; SELECT kalam.execute_as('$bob'); ROLLBACK});
$s->quit;
my $log = slurp_file($node->logfile, $offset);
like($log, qr/LOG:  kalamdb audit: (?=[^\n]*"action": "login\.success")(?=[^\n]*"target_user_id": "$bob")(?=[^\n]*"via": "authenticate")/,
	'a login rolled back is in the server log');
like($log, qr/LOG:  kalamdb audit: (?=[^\n]*"action": "execute_as")(?=[^\n]*"target_user_id": "$bob")/,
	'so is an execute_as rolled back');
like($log, qr/LOG:  kalamdb audit: (?=[^\n]*"action": "login\.failure")/, 'and a failed login, written by the recorder');
like($log, qr/password authentication failed/, 'the failed login is logged');
unlike($log, qr/wrong-pass-1234|bob-secret-123|taken-name-pass-77|no-such-user-pass-88/,
	'without its statement, or any password');
like($log, qr/STATEMENT:\s+SELECT 1 \/ 0 AS marker_7f3a/, 'the next error of the session has its statement logged');
like($log, qr/STATEMENT:\s+SELECT 2 \/ 0 AS marker_8e4b/, 'so does a later statement of the transaction that logged in');

# while a (slow) password is hashed, the session shows no statement
my $login = $node->background_psql('postgres');
$login->query_until(qr/started/, q{\echo started
SELECT kalam.login('slow', 'slow-secret-123');
});
ok($node->poll_query_until('postgres', q{
	SELECT count(*) = 1 FROM pg_stat_activity
	WHERE query = '-- a kalamdb statement with a password (hidden)' AND state = 'active'}),
	'pg_stat_activity shows a login under way without its statement');
ok($node->poll_query_until('postgres', q{
	SELECT count(*) = 1 FROM pg_stat_activity
	WHERE query = '-- a kalamdb statement with a password (hidden)' AND state = 'idle'}),
	'and so it stays once the login is over');
is($node->safe_psql('postgres', q{SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%slow-secret%' AND pid <> pg_backend_pid()}),
	'0', 'the password is nowhere');
$login->quit;

$node->stop;
done_testing();
