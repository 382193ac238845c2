# Live queries end to end: subscribers LISTEN in their own sessions while
# another session writes.  A subscriber receives exactly its own changes,
# projected and filtered as asked (a row entering or leaving the WHERE as
# an insert or a delete); another user's subscriber receives none;
# a shared table reaches everyone allowed to read it, a STREAM table only
# the row's owner; an oversized change arrives as a key-only message; a
# TRUNCATE reaches every subscription of the table; a session that ends,
# logs out or whose user is dropped leaves no subscription behind; a role
# that loses SELECT receives nothing more; a role or user that may not
# read a table cannot subscribe to it; a user's subscriptions are limited.
use strict;
use warnings;
use FindBin;
use lib $FindBin::Bin;
use KalamNode;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = KalamNode::start('live', qq{
kalam.bcrypt_cost = 4
kalam.job_poll_interval = 200ms
});
$node->safe_psql('postgres', q{
	CREATE EXTENSION kalamdb;
	SELECT kalam.create_user('alice', 'alice-secret-1');
	SELECT kalam.create_user('bob', 'bob-secret-123');
	SELECT kalam.create_namespace('chat');
	CREATE TABLE chat.messages (owner kalam.user_id, id int PRIMARY KEY, body text,
								at timestamptz DEFAULT now()) USING kalamdb;
	SELECT kalam.register_table('chat.messages', 'user');
	CREATE TABLE chat.news (id int PRIMARY KEY, headline text);
	SELECT kalam.register_table('chat.news', 'shared');
	CREATE COLLATION chat.ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
	CREATE TABLE chat.labels (id bigint PRIMARY KEY, label text COLLATE chat.ci);
	CREATE TYPE chat.odd AS ENUM ('x');
	CREATE FUNCTION chat.odd_json(chat.odd) RETURNS json LANGUAGE plpgsql AS $$
	BEGIN RAISE EXCEPTION 'no json for odd'; END $$;
	CREATE CAST (chat.odd AS json) WITH FUNCTION chat.odd_json(chat.odd);
	CREATE TABLE chat.odds (id int PRIMARY KEY, o chat.odd);
	SELECT kalam.register_table('chat.odds', 'shared');
	CREATE TYPE chat.feel AS ENUM ('ok', 'meh');
	CREATE TABLE chat.feelings (id int PRIMARY KEY, f chat.feel);
	SELECT kalam.register_table('chat.feelings', 'shared');
	SELECT kalam.register_table('chat.labels', 'shared');
});
my %id = map { $_ => $node->safe_psql('postgres', "SELECT user_id FROM system.users WHERE username = '$_'") } qw(alice bob);

sub subscriber
{
	my ($user, $password, @queries) = @_;
	my $s = $node->background_psql('postgres');
	$s->query_safe("SELECT kalam.login('$user', '$password')");
	$s->query_safe("SELECT live_id FROM kalam.subscribe('$_')") foreach @queries;
	return $s;
}

# the notification payloads a session has received so far
sub received
{
	my ($s) = @_;
	my $out = $s->query_safe('SELECT 1');
	return [ $out =~ /Asynchronous notification "kalam_[0-9a-f]+" with payload "(.*)" received from server process/g ];
}

my $alice = subscriber('alice', 'alice-secret-1',
	q{SELECT id, body FROM chat.messages WHERE id > 10}, q{SELECT * FROM chat.news});
my $bob = subscriber('bob', 'bob-secret-123', q{SELECT body FROM chat.messages}, q{SELECT * FROM chat.news});
is($node->safe_psql('postgres', 'SELECT count(*) FROM system.live_queries'), '4', 'four subscriptions are recorded');

# the writer: rows of both users, some filtered out, one rolled back
$node->safe_psql('postgres', qq{
	INSERT INTO chat.messages (owner, id, body) VALUES ('$id{alice}', 11, 'hello alice'), ('$id{alice}', 5, 'too small'),
		('$id{bob}', 21, 'hello bob');
	UPDATE chat.messages SET body = 'edited' WHERE id IN (11, 21);
	DELETE FROM chat.messages WHERE id = 11;
	BEGIN; INSERT INTO chat.messages VALUES ('$id{alice}', 99, 'never committed'); ROLLBACK;
	INSERT INTO chat.news VALUES (1, 'kalamdb ships');
});

my $a = received($alice);
is(scalar(@$a), 4, "alice receives four notifications") or diag explain $a;
like($a->[0], qr/"op": "insert", "row": \{"id":11,"body":"hello alice"\}\}/, 'her insert, projected to id and body');
like($a->[1], qr/"op": "update", "row": \{"id":11,"body":"edited"\}, "old": \{"id":11,"body":"hello alice"\}/,
	'her update, with the old row');
like($a->[2], qr/"op": "delete", "old": \{"id":11,"body":"edited"\}/, 'her delete');
like($a->[3], qr/"table": "chat.news", "op": "insert", "row": \{"id":1,"headline":"kalamdb ships"\}/,
	'and the shared table\'s news');
unlike(join("\n", @$a), qr/too small|hello bob|never committed/,
	'nothing filtered out by her WHERE, nothing of bob, nothing uncommitted');

my $b = received($bob);
is(scalar(@$b), 3, 'bob receives three notifications') or diag explain $b;
like($b->[0], qr/"op": "insert", "row": \{"body":"hello bob"\}/, 'his insert, projected to body');
like($b->[1], qr/"op": "update", "row": \{"body":"edited"\}, "old": \{"body":"hello bob"\}/, 'his update');
unlike(join("\n", @$b), qr/alice|too small/, 'nothing of alice');

# too big for NOTIFY: a key-only message
$node->safe_psql('postgres', qq{INSERT INTO chat.messages VALUES ('$id{alice}', 12, repeat('x', 10000))});
$a = received($alice);
is(scalar(@$a), 1, 'an oversized change still arrives');
like($a->[0], qr/"op": "insert", "truncated": true, "key": \{"id":12\}/, 'as its primary key, marked truncated');

# counters
ok($node->poll_query_until('postgres', qq{
	SELECT changes = 4 AND last_update IS NOT NULL FROM system.live_queries
	WHERE user_id = '$id{alice}' AND query LIKE '%messages%'}), 'changes and last_update are kept');

# a row entering a subscription's WHERE arrives as an insert, one leaving
# it as a delete; a row given to another user leaves the one's view and
# enters the other's
$node->safe_psql('postgres', q{UPDATE chat.messages SET id = 15 WHERE id = 5});
$node->safe_psql('postgres', q{UPDATE chat.messages SET id = 6 WHERE id = 15});
$a = received($alice);
is(scalar(@$a), 2, 'alice receives the row entering and leaving her WHERE') or diag explain $a;
like($a->[0], qr/"op": "insert", "row": \{"id":15,"body":"too small"\}\}/, 'entering: an insert');
like($a->[1], qr/"op": "delete", "old": \{"id":15,"body":"too small"\}\}/, 'leaving: a delete');
is(scalar(@{ received($bob) }), 0, 'bob receives nothing of it');
$node->safe_psql('postgres', qq{UPDATE chat.messages SET owner = '$id{alice}' WHERE id = 21});
$a = received($alice);
$b = received($bob);
like($a->[0] // '', qr/"op": "insert", "row": \{"id":21,"body":"edited"\}\}/, 'a row given to alice enters her view');
like($b->[0] // '', qr/"op": "delete", "old": \{"body":"edited"\}\}/, 'and leaves bob\'s');

# a STREAM table is user-scoped like a USER table
$node->safe_psql('postgres', q{
	CREATE TABLE chat.typing (owner kalam.user_id, at timestamptz DEFAULT now(), what text) USING kalamdb;
	SELECT kalam.register_table('chat.typing', 'stream', ttl => '1 hour');
});
$alice->query_safe(q{SELECT live_id FROM kalam.subscribe('SELECT what FROM chat.typing')});
$node->safe_psql('postgres', qq{INSERT INTO chat.typing (owner, what) VALUES ('$id{bob}', 'bob types'), ('$id{alice}', 'alice types')});
$a = received($alice);
is(scalar(@$a), 1, 'a STREAM table: alice receives one change') or diag explain $a;
like($a->[0] // '', qr/"table": "chat.typing", "op": "insert", "row": \{"what":"alice types"\}\}/, 'her own');

# TRUNCATE reaches every subscription of the table, once it commits
$node->safe_psql('postgres', q{BEGIN; TRUNCATE chat.messages; ROLLBACK;});
is(scalar(@{ received($alice) }), 0, 'a rolled-back TRUNCATE is not delivered');
$node->safe_psql('postgres', q{TRUNCATE chat.messages});
$a = received($alice);
is(scalar(@$a), 1, 'a TRUNCATE arrives once') or diag explain $a;
like($a->[0], qr/"table": "chat.messages", "op": "truncate"\}$/, 'as a truncate of the table, without rows');
$b = received($bob);
is(scalar(@$b), 1, q{and at bob's subscription of the table too}) or diag explain $b;
like($b->[0], qr/"op": "truncate"/, 'also as a truncate');

# unsubscribe, and the end of a session
my $live = $node->safe_psql('postgres', qq{SELECT live_id FROM system.live_queries WHERE user_id = '$id{bob}' AND query LIKE '%news%'});
$bob->query_safe("SELECT kalam.unsubscribe('$live')");
$node->safe_psql('postgres', q{INSERT INTO chat.news VALUES (2, 'second')});
$b = received($bob);
is(scalar(@$b), 0, 'after unsubscribe, nothing more arrives');
$alice->quit;
ok($node->poll_query_until('postgres', qq{SELECT count(*) = 0 FROM system.live_queries WHERE user_id = '$id{alice}'}),
	'a session that ends leaves no subscription behind');
is($node->safe_psql('postgres', 'SELECT count(*) FROM system.live_queries'), '1', q{bob's other one stays});

# what cannot be subscribed to
my $s = $node->background_psql('postgres', on_error_stop => 0);
$s->query("SELECT kalam.login('bob', 'bob-secret-123')");
# a type that goes away with the session: other sessions' writes would fail
# to load the WHERE, all of them
$s->query("CREATE TYPE pg_temp.mood AS ENUM ('glad')");
foreach my $bad (
	[ q{SELECT * FROM chat.messages WHERE ARRAY[''glad''::pg_temp.mood] IS NOT NULL},
	  qr/the WHERE of a live query cannot use type mood\[\]/ ],
	# what would fail other sessions' writes, or cost them much
	[ q{SELECT * FROM chat.messages WHERE body = ANY(ARRAY[ARRAY[''a''], ARRAY[''b'', ''c'']])},
	  qr/cannot build multidimensional arrays/ ],
	[ 'SELECT * FROM chat.messages WHERE ' . ('NOT ' x 40) . 'body IS NULL', qr/the WHERE of a live query is too large/ ],
	[ 'SELECT * FROM chat.messages WHERE id IN (' . join(', ', 1 .. 1001) . ')',
	  qr/the lists in the WHERE of a live query may have at most 1000 elements in all/ ],
	# ^@ (starts_with()) is leakproof, but fails on a nondeterministic collation
	[ q{SELECT * FROM chat.labels WHERE label ^@ ''a''}, qr/cannot use the nondeterministic collation/ ],
	# every writing session loads the plan
	[ 'SELECT * FROM chat.news WHERE headline IN (' . join(', ', map { "''" . ('x' x 1000) . "''" } 1 .. 80) . ')',
	  qr/the WHERE of a live query is too large/ ],
	[ "SELECT * FROM chat.news WHERE headline = ''" . ('x' x 2000) . "''",
	  qr/a constant in the WHERE of a live query may take at most 1024 bytes/ ],
	# a comparison of constants alone tells nothing about rows, costs what they make it cost
	[ q{SELECT * FROM chat.news WHERE ''a'' < ALL(''{b,c}''::text[])}, qr/must involve a column/ ],
	[ 'SELECT * FROM chat.messages WHERE id IN (' . join(', ', 1 .. 600) . ') OR id IN (' . join(', ', 1 .. 600) . ')',
	  qr/the lists in the WHERE of a live query may have at most 1000 elements in all/ ],
	[ q{SELECT * FROM chat.news WHERE headline < ANY(''{a,b}''::text[])}, qr/may only be compared with = or <>/ ],
	[ q{SELECT * FROM chat.news WHERE 0 = ANY(ARRAY[id])}, qr/a list in the WHERE of a live query must be of constants/ ],
	[ 'SELECT ' . join(', ', ('id') x 3) . ' FROM chat.news', qr/column "id" is listed twice in a live query/ ],
	[ q{SELECT * FROM chat.news WHERE position(''x'' in headline) > 0}, qr/may call functions on constants only|leakproof/ ],
	# COLLATE is left to the planner, which a live query's WHERE does not go through
	[ q{SELECT * FROM chat.news WHERE headline = ''x'' COLLATE "C"}, qr/this expression cannot be used/ ],
	# what costs writers what the values make it cost
	[ q{SELECT * FROM chat.news WHERE md5(headline) = ''x''}, qr/may call functions on constants only/ ],
	[ q{SELECT * FROM chat.news WHERE headline = ANY(''{a,b}''::text[]::name[]::text[])},
	  qr/cannot cast a list more than once/ ],
	# nor may the writer's value be copied a thousand times
	[ 'SELECT * FROM chat.news WHERE ' . join(' OR ', map { "headline = ''$_''" } 1 .. 40),
	  qr/may refer to columns at most 32 times/ ],
	[ "SELECT * FROM chat.messages WHERE id = ANY(''{" . join(',', 1 .. 1001) . "}''::int[])",
	  qr/the lists in the WHERE of a live query may have at most 1000 elements in all/ ],
	[ q{SELECT * FROM chat.messages m JOIN chat.news n ON true}, qr/a live query cannot have anything but a single table in FROM/ ],
	[ q{SELECT count(*) FROM chat.messages}, qr/a live query cannot have expressions/ ],
	[ q{SELECT * FROM chat.messages WHERE body LIKE ''%x%''}, qr/leakproof/ ],
	[ q{SELECT * FROM chat.messages WHERE id = (SELECT 1)}, qr/cannot be used in the WHERE of a live query/ ],
	[ q{SELECT * FROM pg_class}, qr/table pg_class is not registered/ ],
	[ q{SELECT ctid FROM chat.messages}, qr/column "ctid" does not exist/ ],
	[ q{SELECT * FROM chat.messages WHERE ctid IS NOT NULL}, qr/a live query cannot use system columns/ ])
{
	my ($sql, $error) = @$bad;
	my ($out, $ret) = $s->query("SELECT kalam.subscribe('$sql')");
	like($s->{stderr}, $error, "refused: $sql");
	$s->{stderr} = '';
}
# a WHERE may use kalamdb's types (and their arrays), and the built-in ones
is($s->query_safe(q{SELECT count(*) FROM kalam.subscribe('SELECT * FROM chat.messages WHERE owner <> ''nobody''::kalam.user_id
		OR owner = ANY(''{x}''::kalam.user_id[]) OR id IN (1, 2) AND body <> ''x''')}),
	'1', q{a WHERE with kalamdb's types and built-in ones is taken});
is($s->query_safe(q{SELECT count(*) FROM kalam.subscribe('SELECT * FROM chat.labels WHERE id IN (1, 2, 3)
		OR coalesce(id, 0) > 5')}),
	'1', 'so is an IN list of a bigint column (the parser casts each literal), and coalesce');
# a payload that cannot be built (here a cast to json that fails; a value
# printing past 1 GB likewise) leaves the write alone: a key-only message
$s->query_safe(q{SELECT count(*) FROM kalam.subscribe('SELECT * FROM chat.odds')});
my ($oret, $oout, $oerr) = $node->psql('postgres', q{INSERT INTO chat.odds VALUES (7, 'x')});
is($oret, 0, 'a write whose payload cannot be built goes through') or diag $oerr;
like(join("\n", @{ received($s) }), qr/"table": "chat.odds", "op": "insert", "truncated": true, "key": \{"id":7\}/,
	'and is delivered by its key');
# a type a column kept, gone with the column: the subscription is skipped, writes go on
is($s->query_safe(q{SELECT count(*) FROM kalam.subscribe('SELECT * FROM chat.feelings WHERE ARRAY[''ok''::chat.feel] IS NOT NULL AND id > 0')}),
	'1', 'a WHERE with the type of a column is taken');
$node->safe_psql('postgres', q{ALTER TABLE chat.feelings DROP COLUMN f; DROP TYPE chat.feel});
my ($wret, $wout, $werr) = $node->psql('postgres', q{INSERT INTO chat.feelings VALUES (1)});
is($wret, 0, 'once that column and its type are dropped, writes to the table still work') or diag $werr;
$s->query("SELECT kalam.subscribe(NULL)");
like($s->{stderr}, qr/a live query cannot be NULL/, 'refused: NULL (not a crash)');
$s->{stderr} = '';

# a subscription belongs to the effective user it was made for
$s->{stderr} = '';
$s->query(qq{BEGIN; SELECT kalam.execute_as('$id{alice}', true); SELECT kalam.subscribe('SELECT * FROM chat.news'); ROLLBACK;});
like($s->{stderr}, qr/cannot subscribe while acting as another user for this transaction only/,
	'no subscription under a transaction-local identity');
$s->quit;

$bob->query_safe('SELECT kalam.logout()');
is($node->safe_psql('postgres', qq{SELECT count(*) FROM system.live_queries WHERE user_id = '$id{bob}'}), '0',
	'logging out ends the session\'s subscriptions');
$node->safe_psql('postgres', qq{INSERT INTO chat.messages VALUES ('$id{bob}', 31, 'after logout')});
$b = received($bob);
is(scalar(@$b), 0, 'and nothing more arrives');
$bob->quit;

# dropping a user ends their subscriptions
my $bob2 = subscriber('bob', 'bob-secret-123', q{SELECT * FROM chat.messages});
$node->safe_psql('postgres', q{BEGIN; SELECT kalam.drop_user('bob'); ROLLBACK;});
$node->safe_psql('postgres', qq{INSERT INTO chat.messages VALUES ('$id{bob}', 33, 'drop rolled back')});
is(scalar(@{ received($bob2) }), 1, 'a drop_user rolled back leaves the subscriptions routed');
$node->safe_psql('postgres', q{SELECT kalam.drop_user('bob')});
is($node->safe_psql('postgres', qq{SELECT count(*) FROM system.live_queries WHERE user_id = '$id{bob}'}), '0',
	'drop_user removes the user\'s subscriptions');
$node->safe_psql('postgres', qq{INSERT INTO chat.messages VALUES ('$id{bob}', 32, 'after drop')});
$b = received($bob2);
is(scalar(@$b), 0, 'and their session receives nothing more');
$bob2->quit;
my (undef, undef, $sub_err) = $node->psql('postgres',
	qq{SET kalam.user_id = '$id{bob}'; SELECT live_id FROM kalam.subscribe('SELECT * FROM chat.messages')});
like($sub_err, qr/subscribing needs an effective user\nDETAIL:  User "$id{bob}" does not exist or has been dropped/,
	'nor can a session acting as the dropped user subscribe');

# REVOKE SELECT: once the subscriber's database role may no longer read the
# table, nothing more is delivered, even by a writer that had the
# subscription cached
$node->safe_psql('postgres', q{
	CREATE ROLE reader;
	GRANT USAGE ON SCHEMA chat TO reader;
	GRANT SELECT ON chat.news TO reader;
});
my $reader = $node->background_psql('postgres');
$reader->query_safe('SET ROLE reader');
$reader->query_safe(q{SELECT kalam.login('alice', 'alice-secret-1')});
$reader->query_safe(q{SELECT live_id FROM kalam.subscribe('SELECT * FROM chat.news')});
my $writer = $node->background_psql('postgres');
$writer->query_safe(q{INSERT INTO chat.news VALUES (3, 'third')});
is(scalar(@{ received($reader) }), 1, 'a subscriber whose role may read the table receives');
$node->safe_psql('postgres', q{REVOKE SELECT ON chat.news FROM reader});
$writer->query_safe(q{INSERT INTO chat.news VALUES (4, 'fourth')});
is(scalar(@{ received($reader) }), 0, 'after REVOKE SELECT, nothing more arrives');
$node->safe_psql('postgres', q{GRANT SELECT ON chat.news TO reader});
$writer->query_safe(q{INSERT INTO chat.news VALUES (5, 'fifth')});
is(scalar(@{ received($reader) }), 1, 'and after GRANT SELECT again, it does');
$writer->quit;
$reader->quit;

# subscribing needs the right to read the table: SELECT for the database
# role, and for a private or restricted SHARED table a kalam role allowed to
# read it (a user may not read a private one; a service may)
$node->safe_psql('postgres', q{
	SELECT kalam.create_user('sam', 'sam-secret-123', 'service');
	CREATE TABLE chat.staff (id int PRIMARY KEY, note text);
	SELECT kalam.register_table('chat.staff', 'shared', 'private');
	GRANT SELECT ON chat.staff TO reader;
});
my $before = $node->safe_psql('postgres', 'SELECT count(*) FROM system.live_queries');
$reader = $node->background_psql('postgres', on_error_stop => 0);
$reader->query_safe('SET ROLE reader');
$reader->query_safe(q{SELECT kalam.login('alice', 'alice-secret-1')});
$reader->query(q{SELECT kalam.subscribe('SELECT * FROM chat.messages')});
like($reader->{stderr}, qr/permission denied for table messages/,
	'a role without SELECT on the table cannot subscribe to it');
$reader->{stderr} = '';
$reader->query(q{SELECT kalam.subscribe('SELECT * FROM chat.staff')});
like($reader->{stderr}, qr/permission denied to watch private table chat\.staff/,
	'a user cannot subscribe to a private shared table');
is($node->safe_psql('postgres', 'SELECT count(*) FROM system.live_queries'), $before,
	'neither refusal left a subscription behind');
$reader->{stderr} = '';
$reader->query_safe(q{SELECT kalam.login('sam', 'sam-secret-123')});
$reader->query_safe(q{SELECT live_id FROM kalam.subscribe('SELECT * FROM chat.staff')});
$node->safe_psql('postgres', q{INSERT INTO chat.staff VALUES (1, 'for services')});
my $staff = received($reader);
is(scalar(@$staff), 1, 'a service may, and receives its changes') or diag explain $staff;
# demoted to user, it receives nothing more of the private table, even from
# a writer that has its subscriptions loaded already
$writer = $node->background_psql('postgres');
$writer->query_safe(q{INSERT INTO chat.staff VALUES (2, 'loaded')});
is(scalar(@{ received($reader) }), 1, 'a writer delivers to the service');
$node->safe_psql('postgres', q{SELECT kalam.set_role('sam', 'user')});
$writer->query_safe(q{INSERT INTO chat.staff VALUES (3, 'after demotion')});
is(scalar(@{ received($reader) }), 0, 'once demoted to user, it receives nothing more from that writer');
$writer->quit;
$reader->quit;

# a subscription whose WHERE the table no longer fits (a column's type
# changed since) gets nothing, and writes to the table go on
$node->safe_psql('postgres', q{
	CREATE TABLE chat.scores (id int PRIMARY KEY, score int);
	SELECT kalam.register_table('chat.scores', 'shared');
});
my $scorer = subscriber('alice', 'alice-secret-1', q{SELECT id FROM chat.scores WHERE score = 1});
$node->safe_psql('postgres', q{INSERT INTO chat.scores VALUES (1, 1)});
is(scalar(@{ received($scorer) }), 1, 'a subscription with a WHERE on a column receives');
$node->safe_psql('postgres', q{ALTER TABLE chat.scores ALTER COLUMN score TYPE bigint});
my ($ret, $out, $err) = $node->psql('postgres', q{INSERT INTO chat.scores VALUES (2, 1)});
is($ret, 0, 'after the column\'s type changed, inserts still work') or diag $err;
is(scalar(@{ received($scorer) }), 0, 'and the subscription whose WHERE no longer fits gets nothing');

# a USER table whose owner column was renamed since it was registered is
# still routed by owner
$scorer->query_safe(q{SELECT live_id FROM kalam.subscribe('SELECT id FROM chat.messages')});
$node->safe_psql('postgres', qq{
	ALTER TABLE chat.messages RENAME COLUMN owner TO owned_by;
	INSERT INTO chat.messages (owned_by, id, body) VALUES ('$id{alice}', 40, 'renamed');
});
like(received($scorer)->[0] // '', qr/"row": \{"id":40\}/, 'after its owner column is renamed, a USER table still delivers');
$scorer->quit;

# a key too long for NOTIFY as well: the row's place only, and the write
# goes on (were NOTIFY to fail, so would every write of such a row)
$node->safe_psql('postgres', q{
	CREATE TABLE chat.tags (tag text PRIMARY KEY, n int);
	SELECT kalam.register_table('chat.tags', 'shared');
});
my $tagger = subscriber('alice', 'alice-secret-1', q{SELECT * FROM chat.tags});
($ret, $out, $err) = $node->psql('postgres', q{INSERT INTO chat.tags VALUES (repeat('t', 9000), 1)});
is($ret, 0, 'a row whose key is too long for NOTIFY is written') or diag $err;
like(received($tagger)->[0] // '', qr/"op": "insert", "truncated": true, "key": null, "ctid": "\(\d+,\d+\)"/,
	'and arrives as its place, marked truncated');
$tagger->quit;

# kalam.max_live_queries_per_user counts one user's subscriptions over
# all its sessions
my $carl = $node->safe_psql('postgres', q{SELECT kalam.create_user('carl', 'carl-secret-12')});
my $keeper = subscriber('carl', 'carl-secret-12', q{SELECT * FROM chat.news});
($ret, $out, $err) = $node->psql('postgres', q{
	SELECT kalam.login('carl', 'carl-secret-12');
	SET kalam.max_live_queries_per_user = 3;
	SELECT count(*) FROM (SELECT kalam.subscribe('SELECT * FROM chat.news') FROM generate_series(1, 2)) s;
	SELECT kalam.subscribe('SELECT * FROM chat.news');
}, on_error_stop => 0);
like($err, qr/ERROR:  user "$carl" has too many live queries/,
	'a user may have kalam.max_live_queries_per_user subscriptions, over all sessions, no more');
$keeper->quit;

# a change of kalam.user_id other than login, logout or execute_as ends
# the session's subscriptions too once it commits (RESET ALL of a pooler
# between two clients, SET by a role granted it), but not a SET LOCAL
# that reverts at the end of its transaction
my $pooled = subscriber('alice', 'alice-secret-1', q{SELECT id FROM chat.messages});
my $alice_subs = qq{SELECT count(*) FROM system.live_queries WHERE user_id = '$id{alice}'};
my $alice_before = $node->safe_psql('postgres', $alice_subs);
$pooled->query_safe(qq{BEGIN; SET LOCAL kalam.user_id = '$carl'; COMMIT;});
$node->safe_psql('postgres', qq{INSERT INTO chat.messages VALUES ('$id{alice}', 50, 'still hers')});
is(scalar(@{ received($pooled) }), 1, 'after a SET LOCAL of another user, the subscription still delivers');
$pooled->query_safe('RESET ALL');
is($node->safe_psql('postgres', $alice_subs), $alice_before - 1, 'RESET ALL ends the subscription');
$node->safe_psql('postgres', qq{INSERT INTO chat.messages VALUES ('$id{alice}', 51, 'not for the next client')});
is(scalar(@{ received($pooled) }), 0, 'and the session receives nothing more of hers');
$pooled->query_safe("SELECT kalam.login('alice', 'alice-secret-1')");
$pooled->query_safe(q{SELECT live_id FROM kalam.subscribe('SELECT id FROM chat.messages')});
$pooled->query_safe(qq{SELECT set_config('kalam.user_id', '$carl', false)});
$node->safe_psql('postgres', qq{INSERT INTO chat.messages VALUES ('$id{alice}', 52, 'not for carl')});
is(scalar(@{ received($pooled) }), 0, 'nor after set_config() of another user');
# a subscription made for another user, even one rolled back, leaves none
# of the first user's behind
$pooled->query_safe("SELECT kalam.login('alice', 'alice-secret-1')");
$pooled->query_safe(q{SELECT live_id FROM kalam.subscribe('SELECT id FROM chat.messages')});
$pooled->query_safe(qq{BEGIN; SET kalam.user_id = '$carl'; SELECT live_id FROM kalam.subscribe('SELECT id FROM chat.news'); ROLLBACK});
$pooled->query_safe(qq{SET kalam.user_id = '$carl'});
$node->safe_psql('postgres', qq{INSERT INTO chat.messages VALUES ('$id{alice}', 53, 'not for carl either')});
is(scalar(@{ received($pooled) }), 0, 'after a subscription for another user rolled back, the change of user ends the first one\'s');
$pooled->query_safe("SELECT kalam.login('alice', 'alice-secret-1')");
$pooled->query_safe(q{SELECT live_id FROM kalam.subscribe('SELECT id FROM chat.messages')});
$pooled->query_safe(qq{BEGIN; SET kalam.user_id = '$carl'; SELECT live_id FROM kalam.subscribe('SELECT id FROM chat.news'); COMMIT});
is($node->safe_psql('postgres', $alice_subs), $alice_before - 1, 'and one committed ends them too');
# a login in a subtransaction that commits lasts: subscribing there is allowed
$pooled->query_safe(q{DO $$BEGIN
	PERFORM kalam.login('alice', 'alice-secret-1');
	PERFORM kalam.subscribe('SELECT id FROM chat.messages');
EXCEPTION WHEN division_by_zero THEN NULL; END $$});
is($node->safe_psql('postgres', $alice_subs), $alice_before, 'a login and a subscription in a subtransaction');
# a read-only transaction cannot remove them, but stops listening
$pooled->query_safe('BEGIN READ ONLY; RESET ALL; COMMIT');
$node->safe_psql('postgres', qq{INSERT INTO chat.messages VALUES ('$id{alice}', 54, 'after a read-only reset')});
is(scalar(@{ received($pooled) }), 0, 'RESET ALL in a read-only transaction stops the deliveries');
# and the session's next user (here a role without privileges on the
# catalog) cannot learn the channels still listed, to LISTEN again, nor
# drop the rows without releasing their routes
$pooled->query_safe('SET ROLE reader');
foreach my $f ('_live_own_session_channels', '_live_forget_own_session')
{
	is($pooled->query_safe("SELECT has_function_privilege('kalam.$f(text)', 'EXECUTE')"), 'f',
		"the next user of the connection may not call kalam.$f()");
}
$pooled->query_safe('RESET ROLE');
# nor learn them from the trace of the UNLISTENs a later change of user
# makes (trace_notify, which any role may set)
$pooled->{stderr} = '';
$pooled->query(q{SET trace_notify = on; SET client_min_messages = debug1; NOTIFY kalam_traced; BEGIN READ ONLY; SELECT kalam.logout(); COMMIT});
# (what psql prints of the commit's messages may come with the next query)
$pooled->query('SELECT 1');
my $traced = $pooled->{stderr};
$pooled->query('RESET client_min_messages');
$pooled->{stderr} = '';
like($traced, qr/Async_Notify\(kalam_traced\)/, 'trace_notify traces the session\'s own NOTIFY');
unlike($traced, qr/kalam_[0-9a-f]{32}/, 'but not the channels it stops listening to, when asked or at commit');
is($pooled->query_safe('SHOW trace_notify'), 'on', 'and trace_notify is the session\'s again after the commit');
$pooled->query_safe('RESET trace_notify');
$pooled->quit;

# notifications follow kalamdb's access rules: a table with a row-level
# security policy of its own (which could hide rows from a subscriber)
# cannot be watched, and one that gains such a policy delivers no more
$node->safe_psql('postgres', q{
	CREATE TABLE chat.board (id int PRIMARY KEY, note text, secret boolean DEFAULT false);
	SELECT kalam.register_table('chat.board', 'shared');
});
my $board = subscriber('alice', 'alice-secret-1', q{SELECT id FROM chat.board});
$node->safe_psql('postgres', q{INSERT INTO chat.board VALUES (1, 'hello')});
is(scalar(@{ received($board) }), 1, 'a shared table delivers');
$node->safe_psql('postgres', q{
	CREATE POLICY no_secrets ON chat.board AS RESTRICTIVE FOR SELECT USING (NOT secret);
	INSERT INTO chat.board VALUES (2, 'hidden', true);
});
is(scalar(@{ received($board) }), 0, 'once it has a policy of its own, nothing is delivered');
$board->quit;
($ret, $out, $err) = $node->psql('postgres', q{
	SELECT kalam.login('alice', 'alice-secret-1');
	SELECT kalam.subscribe('SELECT id FROM chat.board');
});
like($err, qr/cannot watch table board, which has row-level security policies of its own/,
	'and it cannot be subscribed to');

# delivering a row can run the table's own code (here a cast to json)
# that changes the table again, whose trigger reloads the subscriptions
# the outer delivery is going through (a GRANT made them stale): each
# change still reaches each subscription, and nothing crashes
$node->safe_psql('postgres', q{
	CREATE TYPE chat.mood AS ENUM ('ok', 'bad');
	CREATE TABLE chat.moods (id int, m chat.mood);
	SELECT kalam.register_table('chat.moods', 'shared');
	CREATE FUNCTION chat.mood_json(chat.mood) RETURNS json LANGUAGE plpgsql AS $$
	BEGIN
		IF $1 = 'bad' THEN
			GRANT SELECT ON chat.moods TO PUBLIC;
			INSERT INTO chat.moods VALUES (2, 'ok');
		END IF;
		RETURN to_json($1::text);
	END $$;
	CREATE CAST (chat.mood AS json) WITH FUNCTION chat.mood_json(chat.mood);
});
my $moody = subscriber('alice', 'alice-secret-1', q{SELECT * FROM chat.moods}, q{SELECT id FROM chat.moods},
	q{SELECT m FROM chat.moods});
$node->safe_psql('postgres', q{INSERT INTO chat.moods VALUES (1, 'bad')});
# the row to each of the three, and the row each of the two casts of
# 'bad' inserts to each of the three
is(scalar(@{ received($moody) }), 9, 'changes made while a change is delivered are delivered too');
$moody->quit;

# equal changes in one transaction each arrive: NOTIFY folds identical
# payloads of one transaction into one, and each carries its number
my $counter = subscriber('alice', 'alice-secret-1', q{SELECT body FROM chat.messages});
$node->safe_psql('postgres', qq{INSERT INTO chat.messages
	VALUES ('$id{alice}', 801, 'same'), ('$id{alice}', 802, 'same'), ('$id{alice}', 803, 'same')});
my $same = received($counter);
is(scalar(@$same), 3, 'three equal rows inserted in one transaction: three notifications');
like($same->[2] // '', qr/"seq": 3, "table": "chat.messages", "op": "insert", "row": \{"body":"same"\}\}/,
	'numbered in their transaction');
$counter->quit;

# a writer is not told the channels it delivers to, even with trace_notify
# on (whoever knows one may LISTEN to it, or forge its messages)
$node->safe_psql('postgres', q{
	CREATE TABLE chat.metrics (id int PRIMARY KEY, v float8, at timestamptz, b bytea, d interval);
	SELECT kalam.register_table('chat.metrics', 'shared');
});
my $metrics = subscriber('alice', 'alice-secret-1', q{SELECT * FROM chat.metrics});
my $metrics_channel = $node->safe_psql('postgres',
	q{SELECT channel FROM system.live_queries WHERE query LIKE '%chat.metrics%'});
my $metrics_row = q{0.12345678901234568, '2026-01-01 00:00:00+00', '\x41', '1 day 2 hours'};
my ($trace_rc, $trace_out, $trace_err) = $node->psql('postgres', qq{
	SET trace_notify = on; SET client_min_messages = debug1;
	BEGIN; NOTIFY kalam_traced; INSERT INTO chat.metrics VALUES (1, $metrics_row); COMMIT});
like($trace_err, qr/Async_Notify\(kalam_traced\)/, 'trace_notify traces the writer\'s own notifications');
unlike($trace_err, qr/\Q$metrics_channel\E/, 'but does not show the subscriber\'s channel');
# and a payload reads the same whoever writes it
$node->safe_psql('postgres', qq{
	SET extra_float_digits = -15; SET TimeZone = 'Asia/Kolkata'; SET bytea_output = 'escape';
	SET IntervalStyle = 'sql_standard'; SET DateStyle = 'SQL, DMY';
	INSERT INTO chat.metrics VALUES (2, $metrics_row)});
my @metrics_rows = map { /"row": (\{[^}]*\})/ ? $1 : '' } @{ received($metrics) };
is(scalar(@metrics_rows), 2, 'both writes are delivered');
is($metrics_rows[1] =~ s/"id":2/"id":1/r, $metrics_rows[0],
	'with the same values, whatever the writer\'s output settings');
like($metrics_rows[1], qr/"v":0\.12345678901234568,"at":"2026-01-01T00:00:00\+00:00","b":"\\\\x41","d":"1 day 02:00:00"/,
	'floats in full, times in UTC, bytea in hex, intervals in the postgres style')
  or diag($metrics_rows[1]);

# rights that come from a role the subscriber's role is granted, or from
# the schema: revoked, nothing more arrives, even from a writer that had
# the subscriptions loaded; without USAGE on the schema, no subscribing
$node->safe_psql('postgres', q{
	SELECT kalam.create_namespace('vault');
	REVOKE USAGE ON SCHEMA vault FROM PUBLIC;
	CREATE TABLE vault.notes (id int PRIMARY KEY);
	SELECT kalam.register_table('vault.notes', 'shared');
	CREATE ROLE metrics_readers;
	CREATE ROLE metrics_member IN ROLE metrics_readers;
	GRANT USAGE ON SCHEMA vault TO metrics_readers;
	GRANT SELECT ON vault.notes TO metrics_readers;
});
my $member = $node->background_psql('postgres', on_error_stop => 0);
$member->query_safe('SET ROLE metrics_member');
$member->query_safe(q{SELECT kalam.login('alice', 'alice-secret-1')});
$member->query_safe(q{SELECT live_id FROM kalam.subscribe('SELECT id FROM vault.notes')});
my $warm = $node->background_psql('postgres');
$warm->query_safe(q{INSERT INTO vault.notes VALUES (10)});
is(scalar(@{ received($member) }), 1, 'a subscriber reading the table through a granted role receives');
$node->safe_psql('postgres', 'REVOKE metrics_readers FROM metrics_member');
$warm->query_safe(q{INSERT INTO vault.notes VALUES (11)});
is(scalar(@{ received($member) }), 0, 'once that role is revoked from it, nothing more arrives');
$node->safe_psql('postgres', 'GRANT metrics_readers TO metrics_member');
$warm->query_safe(q{INSERT INTO vault.notes VALUES (12)});
is(scalar(@{ received($member) }), 1, 'granted again, it receives');
$node->safe_psql('postgres', 'REVOKE USAGE ON SCHEMA vault FROM metrics_readers');
$warm->query_safe(q{INSERT INTO vault.notes VALUES (13)});
is(scalar(@{ received($member) }), 0, 'without USAGE on the table\'s schema, nothing arrives');
$member->{stderr} = '';
$member->query(q{SELECT kalam.subscribe('SELECT id FROM vault.notes')});
like($member->{stderr}, qr/permission denied for schema vault/, 'nor can it subscribe');
$member->{stderr} = '';
$member->query(q{SELECT kalam.subscribe('SELECT id FROM vault.nosuch')});
like($member->{stderr}, qr/permission denied for schema vault/,
	'and subscribing tells nothing of which tables the schema holds');
$warm->quit;
$member->quit;
$metrics->quit;

# a superuser's session acting as a user may read a private shared table,
# but not watch it: its changes go to users whose role reaches the table's
# access level
my $superuser_as_user = $node->background_psql('postgres', on_error_stop => 0);
$superuser_as_user->query_safe(q{SELECT kalam.login('alice', 'alice-secret-1')});
$superuser_as_user->query(q{SELECT kalam.subscribe('SELECT * FROM chat.staff')});
like($superuser_as_user->{stderr}, qr/permission denied to watch private table chat\.staff/,
	'a superuser session acting as a user cannot watch a private table');
$superuser_as_user->quit;

# a session whose transactions are read-only by default still removes its
# subscriptions when it ends
my $read_only = subscriber('alice', 'alice-secret-1', q{SELECT id FROM chat.news});
my $read_only_pid = $read_only->query_safe('SELECT pg_backend_pid()');
my $subs_before_end = $node->safe_psql('postgres', 'SELECT count(*) FROM system.live_queries');
$read_only->query_safe('SET default_transaction_read_only = on');
$read_only->quit;
$node->poll_query_until('postgres', "SELECT count(*) = 0 FROM pg_stat_activity WHERE pid = $read_only_pid");
is($node->safe_psql('postgres', 'SELECT count(*) FROM system.live_queries'), $subs_before_end - 1,
	'a session read-only by default removes its subscription when it ends');

# a user dropped while one of their subscriptions is being ended (an
# unsubscribe in a transaction still open): the route the subscription
# shares with everyone's of a shared table is taken down once, not twice,
# and the others' deliveries go on
$node->safe_psql('postgres', q{
	CREATE TABLE chat.lobby (id int PRIMARY KEY);
	SELECT kalam.register_table('chat.lobby', 'shared');
});
$node->safe_psql('postgres', q{SELECT kalam.restore_user('bob')});
my $watcher = subscriber('bob', 'bob-secret-123', q{SELECT id FROM chat.lobby});
my $leaver = subscriber('alice', 'alice-secret-1', q{SELECT id FROM chat.lobby});
my $leaving = $node->safe_psql('postgres',
	qq{SELECT live_id FROM system.live_queries WHERE user_id = '$id{alice}' AND query LIKE '%chat.lobby%'});
$leaver->query_safe(qq{BEGIN; SELECT kalam.unsubscribe('$leaving')});
my $dba = $node->background_psql('postgres');
$dba->query_until(qr/dropping/, "\\echo dropping\nSELECT kalam.drop_user('alice');\n");
ok($node->poll_query_until('postgres',
	q{SELECT count(*) = 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%drop_user%'}),
	'dropping the user waits for the unsubscribe');
$leaver->query_safe('COMMIT');
ok($node->poll_query_until('postgres', qq{SELECT deleted_at IS NOT NULL FROM system.users WHERE user_id = '$id{alice}'}),
	'the user is dropped');
$node->safe_psql('postgres', q{INSERT INTO chat.lobby VALUES (1)});
is(scalar(@{ received($watcher) }), 1, 'another user\'s subscription to the table still delivers');
$dba->quit;
$leaver->quit;
$watcher->quit;
$node->safe_psql('postgres', q{SELECT kalam.restore_user('alice')});

# once the extension is dropped, a session that had subscribed can still
# reset its settings
my $last = subscriber('alice', 'alice-secret-1', q{SELECT id FROM chat.messages});
$node->safe_psql('postgres', 'DROP EXTENSION kalamdb CASCADE');
($ret, $out, $err) = $last->query('RESET ALL');
is($last->{stderr} // '', '', 'RESET ALL works after DROP EXTENSION');
$last->quit;

$node->stop;
done_testing();
