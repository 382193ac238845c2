#!/bin/bash
# bench/keys: typed keys against their baselines, in one run, on the same
# data: btree point-lookup throughput (pgbench, prepared statements,
# several clients), index size after build, and the time to sort N values.
#
#   bash bench/keys/run.sh            # N = 1000000 rows per table
#   N=200000 SECONDS_PER_RUN=5 bash bench/keys/run.sh
#
# Prints a table of ratios (typed / baseline): for lookups higher is better,
# for probe time, size and sort time lower is better.  Besides pgbench, whose
# numbers include the client round trip and vary from run to run, it times
# 200000 index probes inside one query (a nested loop join), which isolates
# the cost of the index itself.

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
declare -A SIZE SORT TPS PROBE ROUND_RATIOS

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

log "index probes inside the server: 200000 lookups by a nested loop, median of 5"
for t in $TABLES; do
	psql -X -q -d "$DB" -c "CREATE TABLE ${t}_probe AS SELECT k FROM $t ORDER BY random() LIMIT 200000" \
		-c "VACUUM ANALYZE ${t}_probe"
	PROBE[$t]=$(exec_ms "$DB" 5 "/*+ */ SELECT count(*) FROM ${t}_probe p JOIN $t t ON t.k = p.k" \
		"SET enable_hashjoin = off; SET enable_mergejoin = off; SET enable_seqscan = off;")
	echo "  $t: ${PROBE[$t]} ms"
done

log "point lookups: pgbench -M prepared, $CLIENTS clients, ${RUN_SECONDS}s per run, $ROUNDS rounds, typed and baseline alternating"
for t in $TABLES; do
	cat >"$KALAM_TMP/$t.pgbench" <<SQL
\set i random(1, $N)
SELECT i FROM $t WHERE k = ${LOOKUP[$t]};
SQL
	pgbench -n -M prepared -c "$CLIENTS" -j 2 -T 2 -f "$KALAM_TMP/$t.pgbench" "$DB" >/dev/null
done
tps_of() {
	pgbench -n -M prepared -c "$CLIENTS" -j 2 -T "$RUN_SECONDS" -f "$KALAM_TMP/$1.pgbench" "$DB" |
		sed -nE 's/^tps = ([0-9.]+).*/\1/p'
}
for pair in $PAIRS; do
	a=${pair%%:*} b=${pair##*:}
	for round in $(seq "$ROUNDS"); do
		# ABBA order, so that drift hurts both sides alike
		if [ $((round % 2)) -eq 1 ]; then first=$a second=$b; else first=$b second=$a; fi
		TPS[$pair:$first]="${TPS[$pair:$first]:-} $(tps_of "$first")"
		TPS[$pair:$second]="${TPS[$pair:$second]:-} $(tps_of "$second")"
	done
	# each round's ratio too: its two runs follow each other
	r=$(paste <(echo "${TPS[$pair:$a]}" | tr ' ' '\n' | grep .) <(echo "${TPS[$pair:$b]}" | tr ' ' '\n' | grep .) |
		awk '{printf "%.2f\n", $1 / $2}')
	ROUND_RATIOS[$pair]="$(echo "$r" | median) ($(echo "$r" | sort -g | head -n 1)-$(echo "$r" | sort -g | tail -n 1))"
	TPS[$pair:$a]=$(echo "${TPS[$pair:$a]}" | tr ' ' '\n' | grep . | median)
	TPS[$pair:$b]=$(echo "${TPS[$pair:$b]}" | tr ' ' '\n' | grep . | median)
	echo "  $a ${TPS[$pair:$a]} tps, $b ${TPS[$pair:$b]} tps; per round ${ROUND_RATIOS[$pair]}"
done

echo
echo "bench/keys: $N rows per table; ratio = typed key / baseline"
echo "  lookups/s: pgbench point lookups (higher is better); probe ms: 200000 index probes in one query;"
echo "  index: bytes after CREATE INDEX; sort ms: ORDER BY of all rows (lower is better for both)"
printf '%-12s %-9s %9s %9s %6s | %8s %8s %6s | %10s %10s %6s | %8s %8s %6s\n' \
	key baseline "lookups/s" "base" ratio "probe ms" "base" ratio "index B" "base" ratio "sort ms" "base" ratio
for pair in $PAIRS; do
	a=${pair%%:*} b=${pair##*:}
	case $b in
		*_text) label='text "C"' ;;
		*_uuid) label=uuid ;;
		*_bigint) label=bigint ;;
	esac
	printf '%-12s %-9s %9.0f %9.0f %6s | %8.1f %8.1f %6s | %10d %10d %6s | %8.1f %8.1f %6s\n' \
		"${a#b_}" "$label" \
		"${TPS[$pair:$a]}" "${TPS[$pair:$b]}" "$(ratio "${TPS[$pair:$a]}" "${TPS[$pair:$b]}")" \
		"${PROBE[$a]}" "${PROBE[$b]}" "$(ratio "${PROBE[$a]}" "${PROBE[$b]}")" \
		"${SIZE[$a]}" "${SIZE[$b]}" "$(ratio "${SIZE[$a]}" "${SIZE[$b]}")" \
		"${SORT[$a]}" "${SORT[$b]}" "$(ratio "${SORT[$a]}" "${SORT[$b]}")"
done

echo
echo "lookups, typed / baseline within each round (ABBA order): median (range)"
for pair in $PAIRS; do
	a=${pair%%:*} b=${pair##*:}
	printf '  %-12s vs %-9s %s\n' "${a#b_}" "${b##*_}" "${ROUND_RATIOS[$pair]}"
done
