#!/bin/bash
# bench/cleanup: the user cleanup job removing 10,000 expired users with
# 100 rows each (1,000,000 rows), with the rows in a kalamdb USER table
# against the same rows in a heap table, in one run.
#
# Both tables get the same rows in the same order (owners interleaved, as
# rows arrive over time) and an index on the owner.  The heap table is
# entered into system.tables directly (register_table accepts only kalamdb
# tables as USER tables), so that the very same job purges it.  Each
# database runs its job alone; the time is the job's own (finished_at -
# started_at), one transaction per user.  A few seconds of work on a small
# machine move a lot from run to run: ROUNDS rounds on fresh databases, the
# layouts taking turns to go first, and the median of each.
#
#   bash bench/cleanup/run.sh                 # USERS=10000 ROWS=100 ROUNDS=5
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/common.sh"
source "$KALAM_ROOT/bench/common.sh"
USERS=${USERS:-10000}
ROWS=${ROWS:-100}
ROUNDS=${ROUNDS:-5}

kalam_install_deps
kalam_build_install
KALAM_EXTRA_CONF="shared_buffers = '1GB'
max_wal_size = '8GB'
kalam.user_cleanup_interval = 0
kalam.job_poll_interval = 100ms" kalam_cluster_start

sql() { PGOPTIONS="-c client_min_messages=warning" psql -X -q -At -v ON_ERROR_STOP=1 -d "$1" -c "$2"; }

setup() {	# setup DB LAYOUT
	local db=$1 layout=$2
	psql -X -q -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
	sql "$db" "CREATE EXTENSION kalamdb"
	sql "$db" "SELECT kalam.create_namespace('app')" >/dev/null
	sql "$db" "CREATE TABLE app.messages (owner kalam.user_id NOT NULL, id bigint, body text,
			   at timestamptz DEFAULT now()) USING $layout"
	sql "$db" "CREATE INDEX ON app.messages (owner)"
	if [ "$layout" = kalamdb ]; then
		sql "$db" "SELECT kalam.register_table('app.messages', 'user')" >/dev/null
	else
		sql "$db" "INSERT INTO system.tables (table_id, namespace_id, table_name, table_type, relation, owner_column)
				   VALUES ('app.messages', 'app', 'messages', 'user', 'app.messages', 'owner')"
	fi
	# the users, soft-deleted 31 days ago (inserted directly: no bcrypt work)
	sql "$db" "INSERT INTO system.users (user_id, username, deleted_at)
			   SELECT ('u' || i)::kalam.user_id, ('user' || i)::kalam.user_name, now() - interval '31 days'
			   FROM generate_series(1, $USERS) i"
	sql "$db" "COPY app.messages (owner, id, body) FROM '$KALAM_TMP/data/rows.copy'"
	sql "$db" "VACUUM ANALYZE app.messages"
	sql "$db" "CHECKPOINT"
}

log "$USERS users x $ROWS rows, the same rows for heap and kalamdb"
psql -X -q -d postgres -c "COPY (SELECT ('u' || (i % $USERS + 1)), i, repeat('m', 100)
	FROM generate_series(0, $((USERS * ROWS - 1))) i) TO '$KALAM_TMP/data/rows.copy'"

# cleanup LAYOUT: run the job on that layout's database, print its seconds
cleanup() {
	local layout=$1 db=cleanup_$1 job left
	# no retries: a failure must show, not be hidden by a retry with nothing left to do
	job=$(sql "$db" "SELECT kalam.submit_job('user_cleanup', '{}', NULL, 0)")
	until [ "$(sql "$db" "SELECT status FROM system.jobs WHERE job_id = '$job'")" = completed ]; do
		[ "$(sql "$db" "SELECT status FROM system.jobs WHERE job_id = '$job'")" = failed ] &&
			{ sql "$db" "SELECT message, exception_trace FROM system.jobs WHERE job_id = '$job'" >&2; exit 1; }
		sleep 0.2
	done
	left=$(sql "$db" "SELECT count(*) FROM app.messages")
	[ "$left" = 0 ] || { echo "rows left: $left" >&2; exit 1; }
	echo "  $layout: $(sql "$db" "SELECT message FROM system.jobs WHERE job_id = '$job'")" >&2
	sql "$db" "SELECT round(extract(epoch FROM finished_at - started_at), 3) FROM system.jobs WHERE job_id = '$job'"
}

declare -A SECS PAGES
set -- heap kalamdb
for round in $(seq "$ROUNDS"); do
	log "round $round: loading, then user cleanup on $1, then on $2"
	for layout in heap kalamdb; do
		setup "cleanup_$layout" "$layout"
		PAGES[$layout]=$(sql "cleanup_$layout" "SELECT pg_relation_size('app.messages') / 8192")
	done
	for layout in "$@"; do
		s=$(cleanup "$layout") || exit 1
		echo "  $layout: $s s"
		SECS[$layout]="${SECS[$layout]:-} $s"
	done
	set -- "$2" "$1"
done
for layout in heap kalamdb; do
	SECS[$layout]=$(echo "${SECS[$layout]}" | tr ' ' '\n' | grep . | median)
done

echo
echo "bench/cleanup: user cleanup of $USERS expired users x $ROWS rows, one transaction per user; median of $ROUNDS rounds"
printf '%-9s %10s %10s %12s\n' table "pages" "seconds" "users/s"
for layout in heap kalamdb; do
	printf '%-9s %10s %10s %12.0f\n' "$layout" "${PAGES[$layout]}" "${SECS[$layout]}" \
		"$(awk -v u="$USERS" -v s="${SECS[$layout]}" 'BEGIN {print u / s}')"
done
printf 'kalamdb takes %sx the time of heap\n' "$(ratio "${SECS[kalamdb]}" "${SECS[heap]}")"
