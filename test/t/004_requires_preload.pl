# Without shared_preload_libraries = 'kalamdb', the extension says so
# clearly (SQLSTATE 55000) instead of half working.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('nopreload');
$node->init;
$node->start;

my ($ret, $out, $err) = $node->psql('postgres', 'CREATE EXTENSION kalamdb', extra_params => [ '-v', 'VERBOSITY=verbose' ]);
like($err, qr/55000: CREATE EXTENSION kalamdb requires kalamdb to be loaded via shared_preload_libraries/,
	'CREATE EXTENSION fails with 55000 and says why');

# installed with the preload, then started without it
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'kalamdb'\n");
$node->restart;
$node->safe_psql('postgres', q{
	CREATE EXTENSION kalamdb;
	CREATE TABLE t (owner kalam.user_id, v int) USING kalamdb;
	INSERT INTO t VALUES ('alice', 1);
});
$node->append_conf('postgresql.conf', "shared_preload_libraries = ''\n");
$node->restart;
($ret, $out, $err) = $node->psql('postgres', 'SELECT count(*) FROM t', extra_params => [ '-v', 'VERBOSITY=verbose' ]);
like($err, qr/55000: the kalamdb table access method requires kalamdb to be loaded via shared_preload_libraries/,
	'a kalamdb table cannot be read without the preload: 55000');
($ret, $out, $err) = $node->psql('postgres', 'SELECT kalam.new_row_id()', extra_params => [ '-v', 'VERBOSITY=verbose' ]);
like($err, qr/55000/, 'nor can a row id be made');
is($node->safe_psql('postgres', q{SELECT 'alice'::kalam.user_id}), 'alice', 'the types still work');

$node->append_conf('postgresql.conf', "shared_preload_libraries = 'kalamdb'\n");
$node->restart;
is($node->safe_psql('postgres', 'SELECT count(*) FROM t'), '1', 'and all is back with the preload');

# a schema named kalam someone made beforehand is not taken over: its
# owner would have kalamdb's SECURITY DEFINER functions call theirs
$node->safe_psql('postgres', q{
	CREATE ROLE mallory LOGIN;
	CREATE DATABASE m OWNER mallory;
});
$node->safe_psql('m', 'CREATE SCHEMA kalam', extra_params => [ '-U', 'mallory' ]);
($ret, $out, $err) = $node->psql('m', 'CREATE EXTENSION kalamdb', extra_params => [ '-v', 'VERBOSITY=verbose' ]);
like($err, qr/42P06: schema "kalam" already exists/, 'CREATE EXTENSION refuses a kalam schema made before it');
$node->safe_psql('m', 'DROP SCHEMA kalam', extra_params => [ '-U', 'mallory' ]);
$node->safe_psql('m', 'CREATE EXTENSION kalamdb; DROP EXTENSION kalamdb CASCADE');
is($node->safe_psql('m', q{SELECT count(*) FROM pg_namespace WHERE nspname IN ('kalam', 'system')}), '0',
	q{the extension's schemas go with it});

$node->stop;
done_testing();
