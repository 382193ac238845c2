# KalamNode: a PostgreSQL::Test::Cluster node started with kalamdb in
# shared_preload_libraries, for the TAP tests in this directory.
#
#   use FindBin;
#   use lib $FindBin::Bin;
#   use KalamNode;
#   my $node = KalamNode::start('name', "extra_setting = value\n");
package KalamNode;

use strict;
use warnings;
use PostgreSQL::Test::Cluster;

# A new node, initialized and started; extra lines go to postgresql.conf.
sub start
{
	my ($name, $extra_conf) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init;
	$node->append_conf('postgresql.conf', "shared_preload_libraries = 'kalamdb'\n"
		  . "max_worker_processes = 16\n" . ($extra_conf // ''));
	$node->start;
	return $node;
}

1;
