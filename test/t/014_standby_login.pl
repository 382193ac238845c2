# On a hot standby a login can be recorded neither as a failure (the
# lockout) nor as a success: kalam.authenticate() and kalam.login() refuse
# before looking at the password, the same way for a right and a wrong
# one, so a standby is no place to guess passwords.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $primary = PostgreSQL::Test::Cluster->new('primary');
$primary->init(allows_streaming => 1);
$primary->append_conf('postgresql.conf', "shared_preload_libraries = 'kalamdb'\nmax_worker_processes = 16\nkalam.bcrypt_cost = 4\n");
$primary->start;
$primary->safe_psql('postgres', q{
	CREATE EXTENSION kalamdb;
	SELECT kalam.create_user('alice', 'alice-secret-1');
});
$primary->backup('base');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'base', has_streaming => 1);
$standby->append_conf('postgresql.conf', "shared_preload_libraries = 'kalamdb'\n");
$standby->start;
$primary->wait_for_catchup($standby);

my %error;
for my $case (['right', 'alice-secret-1'], ['wrong', 'wrong-secret-1'])
{
	for my $f ('authenticate', 'login')
	{
		my ($rc, $out, $err) = $standby->psql('postgres', "SELECT kalam.$f('alice', '$case->[1]')",
			extra_params => [ '-v', 'VERBOSITY=verbose' ]);
		($error{"$f $case->[0]"}) = $err =~ /ERROR:\s+(\S+: .*)/;
	}
}
is($error{'authenticate right'}, '25006: logins are not checked on a standby server',
	'a standby refuses to check a login');
is($error{'authenticate wrong'}, $error{'authenticate right'}, 'the same for a wrong password');
is($error{'login right'}, $error{'authenticate right'}, 'kalam.login() as well');
is($error{'login wrong'}, $error{'authenticate right'}, 'right or wrong');
is($primary->safe_psql('postgres', q{SELECT failed_login_attempts FROM system.users WHERE username = 'alice'}), '0',
	'nothing was recorded');

# the effective user can still be given directly there
is($standby->safe_psql('postgres', q{SET kalam.user_id = 'x'; SELECT kalam.current_user_id()}), 'x',
	'a standby session can take a user id it is given');

$standby->stop;
$primary->stop;
done_testing();
