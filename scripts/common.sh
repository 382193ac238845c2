# common.sh: helpers sourced by walkthrough.sh, test.sh and the benchmarks.
#
# Everything runs as root; the PostgreSQL server runs as the "postgres" OS
# user in a throwaway directory with its own port and socket directory, and
# is always stopped and removed on exit, whatever happened.

set -euo pipefail

KALAM_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PG_MAJOR=15
PG_BIN=/usr/lib/postgresql/$PG_MAJOR/bin
export PATH="$PG_BIN:$PATH"

log() { printf '\n==> %s\n' "$*" >&2; }

# Debian packages the build and the tests need.
kalam_install_deps() {
	local pkgs="postgresql-$PG_MAJOR postgresql-server-dev-$PG_MAJOR postgresql-$PG_MAJOR-pgtap libtap-parser-sourcehandler-pgtap-perl libcrypt-dev libipc-run-perl make gcc gdb"
	local missing=""
	for p in $pkgs; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
	done
	if [ -n "$missing" ]; then
		log "installing:$missing"
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -q </dev/null
		# shellcheck disable=SC2086
		apt-get install -y -q --no-install-recommends $missing </dev/null
	fi
	# The Debian package may have created and started a "main" cluster; we
	# never use it and never touch it.
}

kalam_build_install() {
	log "building kalamdb (warnings are errors)"
	make -C "$KALAM_ROOT" -s clean >/dev/null
	make -C "$KALAM_ROOT" -s WERROR=1 PG_CONFIG="$PG_BIN/pg_config"
	make -C "$KALAM_ROOT" -s install PG_CONFIG="$PG_BIN/pg_config" >/dev/null
}

# A free TCP port on loopback, starting from $1.
kalam_free_port() {
	local port=$1
	while (echo >/dev/tcp/127.0.0.1/"$port") 2>/dev/null; do
		port=$((port + 1))
	done
	echo "$port"
}

# kalam_cluster_start: creates and starts a throwaway cluster.  Sets
# KALAM_PGDATA_DIR, PGHOST, PGPORT, PGUSER; kalam_cluster_stop undoes it.
kalam_cluster_start() {
	KALAM_TMP=$(mktemp -d /tmp/kalamdb.XXXXXX)
	chown postgres:postgres "$KALAM_TMP"
	chmod 700 "$KALAM_TMP"
	KALAM_PGDATA_DIR=$KALAM_TMP/data
	export PGHOST=$KALAM_TMP
	export PGPORT
	PGPORT=$(kalam_free_port 54329)
	export PGUSER=postgres
	export PGDATABASE=postgres

	log "starting a throwaway server in $KALAM_TMP (port $PGPORT)"
	runuser -u postgres -- "$PG_BIN/initdb" -D "$KALAM_PGDATA_DIR" -U postgres \
		--auth=trust --encoding=UTF8 --locale=C.UTF-8 >"$KALAM_TMP/initdb.log" 2>&1 ||
		{ cat "$KALAM_TMP/initdb.log"; return 1; }
	cat >>"$KALAM_PGDATA_DIR/postgresql.conf" <<CONF
listen_addresses = ''
port = $PGPORT
unix_socket_directories = '$KALAM_TMP'
shared_preload_libraries = 'kalamdb'
max_worker_processes = 16
fsync = off
log_min_messages = warning
${KALAM_EXTRA_CONF:-}
CONF
	runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$KALAM_PGDATA_DIR" -l "$KALAM_TMP/server.log" \
		-w -t 60 start >/dev/null || { cat "$KALAM_TMP/server.log"; return 1; }
	trap kalam_cluster_stop EXIT
}

kalam_cluster_stop() {
	local rc=$?
	if [ -n "${KALAM_PGDATA_DIR:-}" ] && [ -f "$KALAM_PGDATA_DIR/postmaster.pid" ]; then
		runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$KALAM_PGDATA_DIR" -m immediate -w stop >/dev/null 2>&1 || true
	fi
	if [ -n "${KALAM_TMP:-}" ] && [ -d "$KALAM_TMP" ]; then
		if [ "$rc" -ne 0 ] && [ -f "$KALAM_TMP/server.log" ]; then
			echo "--- last lines of the server log ---" >&2
			tail -n 40 "$KALAM_TMP/server.log" >&2 || true
		fi
		rm -rf "$KALAM_TMP"
	fi
	KALAM_TMP=
	KALAM_PGDATA_DIR=
	return $rc
}
