#!/bin/bash
# bench/keys: typed keys against their baselines, in one run, on the same
# data: btree point-lookup throughput (pgbench, prepared statements,
# several clients), index size after build, and the time to sort N values.
#
#   bash bench/keys/run.sh            # N = 1000000 rows per table
#   N=200000 SECONDS_PER_RUN=5 bash bench/keys/run.sh
#
# Prints a table of ratios (typed / baseline): for lookups higher is better,
# for probe time, size and sort time lower is better.  Lookups of the typed
# table and of its baseline are interleaved in the same pgbench runs (two
# scripts, each transaction picks one), so that this machine's drift, which
# moves separate runs by 20% and more, hits both alike.  Besides pgbench,
# whose numbers include the client round trip, it times 200000 index probes
# inside one query (a nested loop join), which isolates the index itself.

source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/common.sh"
source "$KALAM_ROOT/bench/common.sh"
N=${N:-1000000}
RUN_SECONDS=${SECONDS_PER_RUN:-8}
ROUNDS=${ROUNDS:-6}
CLIENTS=${CLIENTS:-4}

kalam_install_deps
kalam_build_install
KALAM_EXTRA_CONF="shared_buffers = '1GB'
work_mem = '1GB'
maintenance_work_mem = '1GB'
max_parallel_workers_per_gather = 0
jit = off
max_wal_size = '4GB'" kalam_cluster_start

DB=kalam_bench
psql -X -q -c "CREATE DATABASE $DB"
log "loading $N rows into each table"
psql -X -q -v ON_ERROR_STOP=1 -v N="$N" -d "$DB" -f "$KALAM_ROOT/bench/keys/setup.sql" -c CHECKPOINT

# name | lookup expression (pgbench variable :i) for each table
declare -A LOOKUP=(
	[b_user_id]="substr(md5(:i::text), 1, 21)::kalam.user_id"
	[b_user_id_text]="substr(md5(:i::text), 1, 21) COLLATE \"C\""
	[b_user_id_uuid]="md5(:i::text)::uuid"
	[b_user_name]="translate(substr(md5(:i::text), 1, 21), 'abc', 'ABC')::kalam.user_name"
	[b_user_name_text]="translate(substr(md5(:i::text), 1, 21), 'abc', 'ABC') COLLATE \"C\""
	[b_row_id]="((:i * 2654435761) % 4611686018427387904)::text::kalam.row_id"
	[b_row_id_bigint]="((:i * 2654435761) % 4611686018427387904)::text::bigint"
	[b_user_row_id]="('u' || (:i % 1000) || ':' || (:i::bigint * 4096))::kalam.user_row_id"
	[b_user_row_id_text]="('u' || (:i % 1000) || ':' || (:i::bigint * 4096)) COLLATE \"C\""
)
TABLES="b_user_id b_user_id_text b_user_id_uuid b_user_name b_user_name_text b_row_id b_row_id_bigint b_user_row_id b_user_row_id_text"

PAIRS="b_user_id:b_user_id_text b_user_id:b_user_id_uuid b_user_name:b_user_name_text b_row_id:b_row_id_bigint b_user_row_id:b_user_row_id_text"
declare -A SIZE SORT LAT LOOKUP_RATIO PROBE ROUND_RATIOS

log "sort times (no index yet): SELECT k FROM t ORDER BY k, median of 7, the tables taking turns"
declare -A SORT_RUNS
set -- $TABLES
for round in $(seq 7); do
	# one sort of each table per round, starting with a different one each
	# time, so that drift of the machine spreads over all of them
	for t in "$@"; do
		SORT_RUNS[$t]="${SORT_RUNS[$t]:-} $(exec_ms "$DB" 1 "SELECT k FROM $t ORDER BY k OFFSET $N")"
	done
	set -- "${@:2}" "$1"
done
for t in $TABLES; do
	SORT[$t]=$(echo "${SORT_RUNS[$t]}" | tr ' ' '\n' | grep . | median)
	echo "  $t: ${SORT[$t]} ms"
done

log "index sizes: CREATE INDEX ON t (k)"
for t in $TABLES; do
	psql -X -q -d "$DB" -c "CREATE INDEX ${t}_k ON $t (k)" -c "VACUUM ANALYZE $t"
	SIZE[$t]=$(psql -X -At -d "$DB" -c "SELECT pg_relation_size('${t}_k')")
	echo "  $t: ${SIZE[$t]} bytes"
done

log "index probes inside the server: 200000 lookups by a nested loop, median of 7, the tables taking turns"
# the same 200000 rows, in the same random order, probed in every table
psql -X -q -d "$DB" -c "CREATE TABLE probe_rows AS SELECT i, row_number() OVER () AS ord
	FROM (SELECT i FROM generate_series(1, $N) i ORDER BY random() LIMIT 200000) s"
for t in $TABLES; do
	psql -X -q -d "$DB" -c "CREATE TABLE ${t}_probe AS SELECT t.k FROM probe_rows p JOIN $t t USING (i) ORDER BY p.ord" \
		-c "VACUUM ANALYZE ${t}_probe"
done
declare -A PROBE_RUNS
set -- $TABLES
for round in $(seq 7); do
	for t in "$@"; do
		PROBE_RUNS[$t]="${PROBE_RUNS[$t]:-} $(exec_ms "$DB" 1 "SELECT count(*) FROM ${t}_probe p JOIN $t t ON t.k = p.k" \
			"SET enable_hashjoin = off; SET enable_mergejoin = off; SET enable_seqscan = off;")"
	done
	set -- "${@:2}" "$1"
done
for t in $TABLES; do
	PROBE[$t]=$(echo "${PROBE_RUNS[$t]}" | tr ' ' '\n' | grep . | median)
	echo "  $t: ${PROBE[$t]} ms"
done

log "point lookups: pgbench -M prepared, $CLIENTS clients, typed and baseline in the same run, $ROUNDS runs of ${RUN_SECONDS}s"
for t in $TABLES; do
	cat >"$KALAM_TMP/$t.pgbench" <<SQL
\set i random(1, $N)
SELECT i FROM $t WHERE k = ${LOOKUP[$t]};
SQL
	pgbench -n -M prepared -c "$CLIENTS" -j 2 -T 2 -f "$KALAM_TMP/$t.pgbench" "$DB" >/dev/null
done
# One pgbench run draws each transaction from either table's script at
# random, so both see the same machine at the same moments; each lookup's
# latency is logged with its script.  Mean latency per lookup, in us, of
# script 0 (typed) and script 1 (baseline):
mixed_latencies() {	# mixed_latencies TYPED BASELINE
	local dir=$KALAM_TMP/pgbench_log
	rm -rf "$dir" && mkdir -p "$dir"
	(cd "$dir" && pgbench -n -M prepared -c "$CLIENTS" -j 2 -T "$RUN_SECONDS" -l --sampling-rate=0.25 \
		-f "$KALAM_TMP/$1.pgbench@1" -f "$KALAM_TMP/$2.pgbench@1" "$DB" >/dev/null)
	cat "$dir"/pgbench_log.* |
		awk '{n[$4]++; s[$4] += $3} END {printf "%.2f %.2f\n", s[0] / n[0], s[1] / n[1]}'
}
for pair in $PAIRS; do
	a=${pair%%:*} b=${pair##*:}
	runs=""
	for round in $(seq "$ROUNDS"); do
		runs="$runs$(mixed_latencies "$a" "$b")"$'\n'
	done
	# throughput ratio of a run: baseline latency / typed latency
	r=$(echo -n "$runs" | awk '{printf "%.3f\n", $2 / $1}')
	ROUND_RATIOS[$pair]="$(echo "$r" | median | xargs printf '%.2f') ($(echo "$r" | sort -g | head -n 1 | xargs printf '%.2f')-$(echo "$r" | sort -g | tail -n 1 | xargs printf '%.2f'))"
	LAT[$pair:$a]=$(echo -n "$runs" | awk '{print $1}' | median)
	LAT[$pair:$b]=$(echo -n "$runs" | awk '{print $2}' | median)
	LOOKUP_RATIO[$pair]=$(echo "$r" | median | xargs printf '%.2f')
	echo "  $a ${LAT[$pair:$a]} us, $b ${LAT[$pair:$b]} us per lookup; throughput ratio per run ${ROUND_RATIOS[$pair]}"
done

echo
echo "bench/keys: $N rows per table; ratio = typed key / baseline"
echo "  lookup us: mean latency of a pgbench point lookup, both tables in the same runs; its ratio is the"
echo "  throughput ratio, baseline us / typed us (higher is better); probe ms: 200000 index probes in one query;"
echo "  index: bytes after CREATE INDEX; sort ms: ORDER BY of all rows (lower is better for both)"
printf '%-12s %-9s %9s %9s %6s | %8s %8s %6s | %10s %10s %6s | %8s %8s %6s\n' \
	key baseline "lookup us" "base" ratio "probe ms" "base" ratio "index B" "base" ratio "sort ms" "base" ratio
for pair in $PAIRS; do
	a=${pair%%:*} b=${pair##*:}
	case $b in
		*_text) label='text "C"' ;;
		*_uuid) label=uuid ;;
		*_bigint) label=bigint ;;
	esac
	printf '%-12s %-9s %9.2f %9.2f %6s | %8.1f %8.1f %6s | %10d %10d %6s | %8.1f %8.1f %6s\n' \
		"${a#b_}" "$label" \
		"${LAT[$pair:$a]}" "${LAT[$pair:$b]}" "${LOOKUP_RATIO[$pair]}" \
		"${PROBE[$a]}" "${PROBE[$b]}" "$(ratio "${PROBE[$a]}" "${PROBE[$b]}")" \
		"${SIZE[$a]}" "${SIZE[$b]}" "$(ratio "${SIZE[$a]}" "${SIZE[$b]}")" \
		"${SORT[$a]}" "${SORT[$b]}" "$(ratio "${SORT[$a]}" "${SORT[$b]}")"
done

echo
echo "lookup throughput, typed / baseline, over the $ROUNDS runs: median (range)"
for pair in $PAIRS; do
	a=${pair%%:*} b=${pair##*:}
	printf '  %-12s vs %-9s %s\n' "${a#b_}" "${b##*_}" "${ROUND_RATIOS[$pair]}"
done
