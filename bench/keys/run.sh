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
# moves separate runs by 20% and more, hits both alike; sorts and probes run
# in rounds with the two sides back to back, and ratios are taken within a
# round.  Besides pgbench, whose numbers include the client round trip, it
# times 200000 index probes inside one query (a nested loop join), which
# isolates the index itself.

source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/common.sh"
source "$KALAM_ROOT/bench/common.sh"
N=${N:-1000000}
RUN_SECONDS=${SECONDS_PER_RUN:-8}
ROUNDS=${ROUNDS:-6}
CLIENTS=${CLIENTS:-4}
PAIRED_ROUNDS=${PAIRED_ROUNDS:-11}	# sorts and probes

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
declare -A SIZE SORT SORT_RATIO LAT LOOKUP_RATIO PROBE PROBE_RATIO ROUND_RATIOS

# paired_ms PAIR SQL [SETTINGS]: the server-side time of SQL (with @T@ the
# table) on both tables of PAIR, $PAIRED_ROUNDS rounds in ABBA order; sets MS[PAIR:table]
# (medians) and MS_RATIO[PAIR] (median of the rounds' typed / baseline
# ratios, then their range): the two runs of a round follow each other, so
# the machine's drift between rounds cancels out.
declare -A MS MS_RATIO
paired_ms() {
	local pair=$1 sql=$2 settings=${3:-} a=${1%%:*} b=${1##*:} ra="" rb="" first second r
	for round in $(seq "$PAIRED_ROUNDS"); do
		if [ $((round % 2)) -eq 1 ]; then first=$a second=$b; else first=$b second=$a; fi
		for t in $first $second; do
			local ms
			ms=$(exec_ms "$DB" 1 "${sql//@T@/$t}" "$settings")
			if [ "$t" = "$a" ]; then ra="$ra $ms"; else rb="$rb $ms"; fi
		done
	done
	r=$(paste <(echo "$ra" | tr ' ' '\n' | grep .) <(echo "$rb" | tr ' ' '\n' | grep .) | awk '{printf "%.3f\n", $1 / $2}')
	MS[$pair:$a]=$(echo "$ra" | tr ' ' '\n' | grep . | median)
	MS[$pair:$b]=$(echo "$rb" | tr ' ' '\n' | grep . | median)
	MS_RATIO[$pair]="$(echo "$r" | median | xargs printf '%.2f') ($(echo "$r" | sort -g | head -n 1 | xargs printf '%.2f')-$(echo "$r" | sort -g | tail -n 1 | xargs printf '%.2f'))"
	echo "  $a ${MS[$pair:$a]} ms, $b ${MS[$pair:$b]} ms; typed / baseline per round ${MS_RATIO[$pair]}"
}

log "sort times (no index yet): SELECT k FROM t ORDER BY k, $PAIRED_ROUNDS rounds per pair"
for pair in $PAIRS; do
	paired_ms "$pair" "SELECT k FROM @T@ ORDER BY k OFFSET $N"
	SORT[$pair:${pair%%:*}]=${MS[$pair:${pair%%:*}]} SORT[$pair:${pair##*:}]=${MS[$pair:${pair##*:}]}
	SORT_RATIO[$pair]=${MS_RATIO[$pair]}
done

log "index sizes: CREATE INDEX ON t (k)"
for t in $TABLES; do
	psql -X -q -d "$DB" -c "CREATE INDEX ${t}_k ON $t (k)" -c "VACUUM ANALYZE $t"
	SIZE[$t]=$(psql -X -At -d "$DB" -c "SELECT pg_relation_size('${t}_k')")
	echo "  $t: ${SIZE[$t]} bytes"
done

log "index probes inside the server: 200000 lookups by a nested loop, $PAIRED_ROUNDS rounds per pair"
# the same 200000 rows, in the same random order, probed in every table
psql -X -q -d "$DB" -c "CREATE TABLE probe_rows AS SELECT i, row_number() OVER () AS ord
	FROM (SELECT i FROM generate_series(1, $N) i ORDER BY random() LIMIT 200000) s"
for t in $TABLES; do
	psql -X -q -d "$DB" -c "CREATE TABLE ${t}_probe AS SELECT t.k FROM probe_rows p JOIN $t t USING (i) ORDER BY p.ord" \
		-c "VACUUM ANALYZE ${t}_probe"
done
for pair in $PAIRS; do
	paired_ms "$pair" "SELECT count(*) FROM @T@_probe p JOIN @T@ t ON t.k = p.k" \
		"SET enable_hashjoin = off; SET enable_mergejoin = off; SET enable_seqscan = off;"
	PROBE[$pair:${pair%%:*}]=${MS[$pair:${pair%%:*}]} PROBE[$pair:${pair##*:}]=${MS[$pair:${pair##*:}]}
	PROBE_RATIO[$pair]=${MS_RATIO[$pair]}
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
echo "  index: bytes after CREATE INDEX; sort ms: ORDER BY of all rows (lower is better for both);"
echo "  times are medians of $PAIRED_ROUNDS rounds"
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
		"${PROBE[$pair:$a]}" "${PROBE[$pair:$b]}" "${PROBE_RATIO[$pair]%% *}" \
		"${SIZE[$a]}" "${SIZE[$b]}" "$(ratio "${SIZE[$a]}" "${SIZE[$b]}")" \
		"${SORT[$pair:$a]}" "${SORT[$pair:$b]}" "${SORT_RATIO[$pair]%% *}"
done

echo
echo "every ratio is the median of per-round (per-run) ratios, where the two sides ran back to back"
echo "or together; median (range) over the rounds:"
printf '  %-12s %-9s %-18s %-18s %-18s\n' key baseline lookups probes sorts
for pair in $PAIRS; do
	a=${pair%%:*} b=${pair##*:}
	printf '  %-12s %-9s %-18s %-18s %-18s\n' "${a#b_}" "${b##*_}" "${ROUND_RATIOS[$pair]}" \
		"${PROBE_RATIO[$pair]}" "${SORT_RATIO[$pair]}"
done
