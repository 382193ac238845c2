#!/bin/bash
# bench/live: live queries.
#   1. Latency from commit to delivery to a listening client (median, p99)
#      with 1, 100 and 1000 subscriptions spread over 100 users: a writer
#      inserts rows of random subscribed users at a steady rate; every
#      subscription of the row's owner gets a notification, whose row
#      carries the writer's clock at the insert (just before the commit).
#   2. The cost of a write when 1000 other users have subscriptions against
#      when nobody has one: pgbench inserts rows of users without
#      subscriptions, rounds alternating (routing only looks at the
#      owner's subscriptions, so we expect at most 1.2x).
#
#   bash bench/live/run.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/common.sh"
source "$KALAM_ROOT/bench/common.sh"
RATE=${RATE:-200}			# writes per second for the latency runs
SECONDS_PER_RUN=${SECONDS_PER_RUN:-10}
ROUNDS=${ROUNDS:-4}

kalam_install_deps
kalam_build_install
KALAM_EXTRA_CONF="max_connections = 300
kalam.bcrypt_cost = 4
synchronous_commit = off" kalam_cluster_start

DB=kalam_bench
sql() { PGOPTIONS="-c client_min_messages=warning" psql -X -q -At -v ON_ERROR_STOP=1 -d "$DB" -c "$1"; }
psql -X -q -c "CREATE DATABASE $DB"
sql "CREATE EXTENSION kalamdb"
sql "SELECT kalam.create_user(('u' || i)::kalam.user_name, 'secret-u' || i) FROM generate_series(1, 2000) i" >/dev/null
sql "SELECT kalam.create_namespace('bench')" >/dev/null
sql "CREATE TABLE bench.events (owner kalam.user_id NOT NULL, id bigint GENERATED ALWAYS AS IDENTITY,
		sent bigint NOT NULL, body text) USING kalamdb"
sql "SELECT kalam.register_table('bench.events', 'user')" >/dev/null
sql "GRANT USAGE ON SCHEMA bench TO PUBLIC; GRANT SELECT ON bench.events TO PUBLIC"

log "building the listener"
gcc -O2 -o "$KALAM_TMP/listen" "$KALAM_ROOT/bench/live/listen.c" -I"$(pg_config --includedir)" -lpq
CONN="host=$PGHOST port=$PGPORT user=postgres dbname=$DB"

# writer: rows of users 1..N (by user id, looked up once)
sql "CREATE TABLE bench_ids AS SELECT row_number() OVER (ORDER BY i) AS n, user_id
	 FROM (SELECT i, user_id FROM generate_series(1, 2000) i
		   JOIN system.users ON username = ('u' || i)::kalam.user_name) s"
write_script() {	# write_script FIRST LAST: rows of users FIRST..LAST
	cat >"$KALAM_TMP/write.pgbench" <<SQL
\set n random($1, $2)
INSERT INTO bench.events (owner, sent, body)
SELECT user_id, (extract(epoch FROM clock_timestamp()) * 1000000)::bigint, 'hello'
FROM bench_ids WHERE n = :n;
SQL
}

declare -A LAT
log "latency: commit to delivery"
for config in "1 1" "100 1" "100 10"; do
	set -- $config
	users=$1 per_user=$2
	total=$((RATE * SECONDS_PER_RUN))
	# rows of the subscribed users, each reaching per_user subscriptions
	expected=$(( total * per_user * 9 / 10 ))
	write_script 1 "$users"
	"$KALAM_TMP/listen" "$CONN" "$users" "$per_user" "$expected" 5 >"$KALAM_TMP/listen.out" &
	lpid=$!
	while ! grep -q ready "$KALAM_TMP/listen.out" 2>/dev/null; do sleep 0.2; done
	pgbench -n -M prepared -c 2 -j 2 -R "$RATE" -T "$SECONDS_PER_RUN" -f "$KALAM_TMP/write.pgbench" "$DB" >/dev/null
	wait $lpid
	LAT[$((users * per_user))]=$(grep received "$KALAM_TMP/listen.out")
	echo "  $((users * per_user)) subscriptions ($users users): ${LAT[$((users * per_user))]}"
done

log "write cost: 1000 other users subscribed vs nobody"
write_script 1001 2000	# users without subscriptions
tps_run() {
	pgbench -n -M prepared -c 4 -j 2 -T "$SECONDS_PER_RUN" -f "$KALAM_TMP/write.pgbench" "$DB" |
		sed -nE 's/^tps = ([0-9.]+).*/\1/p'
}
subscribe_1000() {
	# A session's subscriptions all belong to its one effective user, and
	# 1000 sessions are more than this machine should hold: one session
	# subscribes as user 1, then the same subscription is recorded for
	# users 2..1000 on that session's connection (so it stays live) and the
	# routes are rebuilt from the table, as the worker does after a restart.
	# The trigger's routing sees exactly what 1000 subscribers would give it.
	psql -X -q -o /dev/null -d "$DB" 2>/dev/null <<SQL &
SELECT kalam.execute_as(user_id), kalam.subscribe('SELECT id, sent FROM bench.events') FROM bench_ids WHERE n = 1;
INSERT INTO system.live_queries (live_id, user_id, table_id, query, options, channel, backend_pid)
SELECT kalam.live_query_id(b.user_id, kalam.connection_of(q.live_id)::text, to_hex(b.n)),
	   b.user_id, q.table_id, q.query, q.options, q.channel, q.backend_pid
FROM system.live_queries q, bench_ids b WHERE b.n BETWEEN 2 AND 1000 AND q.backend_pid = pg_backend_pid();
SELECT kalam._live_routes_rebuild();
SELECT 'subscribed';
SELECT pg_sleep(100000);
SQL
	SUBPID=$!
	until [ "$(sql "SELECT count(*) FROM system.live_queries")" = 1000 ]; do sleep 0.2; done
}
unsubscribe_all() {
	sql "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(100000);'" >/dev/null
	kill $SUBPID 2>/dev/null || true
	wait $SUBPID 2>/dev/null || true
	until [ "$(sql "SELECT count(*) FROM system.live_queries")" = 0 ]; do sleep 0.2; done
}
NONE=""; WITH=""
for round in $(seq "$ROUNDS"); do
	NONE="$NONE $(tps_run)"
	subscribe_1000
	WITH="$WITH $(tps_run)"
	unsubscribe_all
done
none=$(echo $NONE | tr ' ' '\n' | median)
with=$(echo $WITH | tr ' ' '\n' | median)

echo
echo "bench/live: commit-to-delivery latency, writer at $RATE rows/s over 100 users, ${SECONDS_PER_RUN}s per run"
printf '%-15s %10s %12s %10s %10s\n' subscriptions delivered "median ms" "p99 ms" "max ms"
for n in 1 100 1000; do
	read -r _ count median p99 max <<<"${LAT[$n]}"
	printf '%-15s %10s %12s %10s %10s\n' "$n" "$count" "$median" "$p99" "$max"
done
echo
echo "write cost (pgbench, 4 clients, rows of users without subscriptions; median of $ROUNDS rounds)"
printf '%-36s %10s\n' "nobody subscribed" "$none tps"
printf '%-36s %10s\n' "1000 other users subscribed" "$with tps"
printf '%-36s %10sx\n' "cost ratio (nobody / 1000 others)" "$(ratio "$none" "$with")"
