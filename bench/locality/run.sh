#!/bin/bash
# bench/locality: the same schema and data in four layouts, in one run:
#   heap, heap after CLUSTER on the owner index, heap hash-partitioned by
#   owner into 16 partitions, and kalamdb.
# Loads:
#   (a) OWNERS owners x 100 rows, inserted round-robin by one session
#       (a client sending prepared INSERTs, one row each)
#   (b) pgbench, 8 clients, random owners (as many rows as (a))
#   (c) COPY of (a)'s rows, in (a)'s order (owners interleaved row by row)
#   (c') ("g") the same COPY with the rows grouped by owner
#   (c'') ("f") COPY of (a)'s rows with every column given (row ids and
#       times too, as a dump has them): COPY then inserts in batches
#       (multi_insert), where (c) and (g) go row by row because of the
#       row id's volatile default
#   (c''') ("r") the same COPY of every column with the rows grouped by
#       owner: what pg_restore loads from a dump of a kalamdb table
#   (d) (b), then delete a third of the rows, VACUUM, insert as many again
#   (e) owners with 5 rows each, round-robin
# For each: pages per owner (and the minimum its rows need), owners per
# page, buffers touched by "all rows of one owner" (EXPLAIN (ANALYZE,
# BUFFERS), averaged over 200 owners), table size, insert throughput.
# Throughput is the median of ROUNDS loads into fresh tables, the layouts
# taking turns; the layout figures are those of the last load.  For the
# pgbench loads, heap and kalamdb are also measured in the same runs (two
# pgbench scripts, one table each), which this machine's drift cannot tell
# apart.
#
#   bash bench/locality/run.sh            # OWNERS=1000
#   OWNERS=200 bash bench/locality/run.sh  # quicker

source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/common.sh"
source "$KALAM_ROOT/bench/common.sh"
OWNERS=${OWNERS:-1000}
ROWS=100
SMALL_OWNERS=$((OWNERS * 20))
ROUNDS=${ROUNDS:-5}
MIXED_RUNS=${MIXED_RUNS:-5}
MIXED_SECONDS=${MIXED_SECONDS:-10}

kalam_install_deps
kalam_build_install
KALAM_EXTRA_CONF="shared_buffers = '1GB'
max_wal_size = '4GB'
autovacuum = off
synchronous_commit = off
jit = off" kalam_cluster_start

DB=kalam_bench
psql -X -q -c "CREATE DATABASE $DB"
psql -X -q -v ON_ERROR_STOP=1 -d "$DB" -f "$KALAM_ROOT/bench/locality/functions.sql"
LAYOUTS="heap heap_clustered heap_partitioned kalamdb"
RESULTS=$KALAM_TMP/results
: >"$RESULTS"

sql() { PGOPTIONS="-c client_min_messages=warning" psql -X -q -At -v ON_ERROR_STOP=1 -d "$DB" -c "$1"; }
now_ms() { date +%s%3N; }

# measure LOAD LAYOUT TABLE ELAPSED_MS ROWS_INSERTED
measure() {
	local load=$1 layout=$2 t=$3 ms=$4 inserted=$5
	sql "VACUUM ANALYZE $t" >/dev/null
	if [ "$layout" = heap_clustered ]; then
		sql "CLUSTER $t USING ${t}_owner" >/dev/null
		sql "ANALYZE $t" >/dev/null
	fi
	local l buf rate
	l=$(sql "SELECT concat_ws('|', rows, owners, pages, pages_per_owner, min_pages_per_owner, worst_extra, owners_per_page, size_bytes) FROM layout('$t')")
	buf=$(sql "SELECT buffers('$t', 200)")
	rate=$(awk -v n="$inserted" -v ms="$ms" 'BEGIN {printf "%.0f", n / (ms / 1000)}')
	echo "$load|$layout|$l|$buf|$rate" >>"$RESULTS"
	echo "  ($load) $layout: $l | buffers $buf | $rate rows/s"
}

pgbench_insert() {	# pgbench_insert TABLE TRANSACTIONS_PER_CLIENT FIRST_OWNER
	cat >"$KALAM_TMP/insert.pgbench" <<SQL
\set o random(1, $OWNERS)
INSERT INTO $1 (owner, body) VALUES (('u' || :o)::kalam.user_id, repeat('b', 100));
SQL
	pgbench -n -M prepared -c 8 -j 2 -t "$2" -f "$KALAM_TMP/insert.pgbench" "$DB" >/dev/null
}

# A client session inserting round-robin: pgbench, prepared statements, one
# client, a counter kept in a pgbench variable.
roundrobin_insert() {	# roundrobin_insert TABLE OWNERS ROWS_PER_OWNER
	cat >"$KALAM_TMP/rr.pgbench" <<SQL
\set o (:o % $2) + 1
INSERT INTO $1 (owner, body) VALUES (('u' || :o)::kalam.user_id, repeat('b', 100));
SQL
	pgbench -n -M prepared -c 1 -t $(($2 * $3)) -D o=0 -f "$KALAM_TMP/rr.pgbench" "$DB" >/dev/null
}

# load LOAD LAYOUT TABLE: fill a fresh table, print the elapsed ms
load() {
	local load=$1 layout=$2 t=$3 t0 t1
	sql "DROP TABLE IF EXISTS $t CASCADE; DROP PROCEDURE IF EXISTS load_$t"
	sql "SELECT make_table('$t', '${layout/heap_clustered/heap}')" >/dev/null
	sql "CHECKPOINT"
	t0=$(now_ms)
	case $load in
		a) roundrobin_insert "$t" "$OWNERS" "$ROWS" ;;
		b) pgbench_insert "$t" $((OWNERS * ROWS / 8)) ;;
		c | g)
			# server-side time: a COPY is short, client start-up would blur it
			sql "SELECT round(timed(\$\$COPY $t (owner, body) FROM '$KALAM_TMP/data/$load.copy'\$\$))"
			return ;;
		f | r)
			sql "SELECT round(timed(\$\$COPY $t FROM '$KALAM_TMP/data/$load.copy'\$\$))"
			return ;;
		e) roundrobin_insert "$t" "$SMALL_OWNERS" 5 ;;
	esac
	t1=$(now_ms)
	echo $((t1 - t0))
}

# mixed_insert_latency LOAD: heap and kalamdb tables filled by the same
# pgbench runs, each transaction inserting into one of them at random (two
# scripts), so that both see the machine at the same moments; prints, per
# run, the mean insert latency in us of heap and of kalamdb.  Throughput
# ratio kalamdb / heap = heap latency / kalamdb latency.
mixed_insert_latency() {
	local load=$1 clients=1 owners=$OWNERS dir=$KALAM_TMP/mixed_log
	case $load in
		b) clients=8 ;;
		e) owners=$SMALL_OWNERS ;;
	esac
	for round in $(seq "$MIXED_RUNS"); do
		local scripts=()
		for l in heap kalamdb; do
			sql "DROP TABLE IF EXISTS mixed_$l; DROP PROCEDURE IF EXISTS load_mixed_$l" >/dev/null
			sql "SELECT make_table('mixed_$l', '$l')" >/dev/null
			if [ "$load" = b ]; then
				printf '\\set o random(1, %s)\n' "$owners" >"$KALAM_TMP/mixed_$l.pgbench"
			else
				# round-robin: the owner counter is the client's, shared by both scripts
				printf '\\set o (:o %% %s) + 1\n' "$owners" >"$KALAM_TMP/mixed_$l.pgbench"
			fi
			printf "INSERT INTO mixed_%s (owner, body) VALUES (('u' || :o)::kalam.user_id, repeat('b', 100));\n" \
				"$l" >>"$KALAM_TMP/mixed_$l.pgbench"
			scripts+=(-f "$KALAM_TMP/mixed_$l.pgbench@1")
		done
		sql "CHECKPOINT"
		rm -rf "$dir" && mkdir -p "$dir"
		(cd "$dir" && pgbench -n -M prepared -c "$clients" -j "$((clients > 1 ? 2 : 1))" -D o=0 \
			-T "$MIXED_SECONDS" -l "${scripts[@]}" "$DB" >/dev/null)
		cat "$dir"/pgbench_log.* | awk '{n[$4]++; s[$4] += $3} END {printf "%.1f %.1f\n", s[0] / n[0], s[1] / n[1]}'
	done
}

# the rows of (a), in (a)'s order, for COPY
sql "CREATE TABLE copy_source (owner kalam.user_id, body text)"
sql "INSERT INTO copy_source SELECT ('u' || (i % $OWNERS + 1))::kalam.user_id, repeat('b', 100) FROM generate_series(0, $((OWNERS * ROWS - 1))) i"
sql "COPY copy_source TO '$KALAM_TMP/data/c.copy'"
sql "COPY (SELECT * FROM copy_source ORDER BY owner) TO '$KALAM_TMP/data/g.copy'"
sql "COPY (SELECT owner, kalam.new_row_id(), body, now() FROM copy_source) TO '$KALAM_TMP/data/f.copy'"
sql "COPY (SELECT owner, kalam.new_row_id(), body, now() FROM copy_source ORDER BY owner) TO '$KALAM_TMP/data/r.copy'"

declare -A MS MIXED
for load in a b c g f r e; do
	case $load in
		a) log "(a) $OWNERS owners x $ROWS rows, round-robin, one session (pgbench -M prepared, 1 client)" ;;
		b) log "(b) pgbench -M prepared, 8 clients, random owners" ;;
		c) log "(c) COPY of (a)'s rows in (a)'s order" ;;
		g) log "(c') COPY of the same rows grouped by owner, as a dump of a kalamdb table has them" ;;
		f) log "(c'') COPY of (a)'s rows in (a)'s order with every column given: batches (multi_insert)" ;;
		r) log "(c''') COPY of every column grouped by owner, as pg_restore loads a dump of a kalamdb table" ;;
		e) log "(e) $SMALL_OWNERS owners x 5 rows, round-robin, one session" ;;
	esac
	rows=$((OWNERS * ROWS)); [ $load = e ] && rows=$((SMALL_OWNERS * 5))
	# throughput: fresh tables, $ROUNDS rounds (more for the short COPYs),
	# layouts in rotating order
	rounds=$ROUNDS; case $load in c | g | f | r) rounds=$((ROUNDS * 3)) ;; esac
	set -- $LAYOUTS
	for round in $(seq "$rounds"); do
		for l in "$@"; do
			ms=$(load $load "$l" "${load}_$l")
			MS[$load:$l]="${MS[$load:$l]:-} $ms"
		done
		set -- "${@:2}" "$1"
	done
	for l in $LAYOUTS; do
		ms=$(echo "${MS[$load:$l]}" | tr ' ' '\n' | grep . | median)
		measure $load "$l" "${load}_$l" "$ms" "$rows"
	done
	case $load in
		a | b | e)
			runs=$(mixed_insert_latency $load)
			r=$(echo "$runs" | awk '{printf "%.3f\n", $1 / $2}')
			MIXED[$load]="$(echo "$r" | median | xargs printf '%.2f') ($(echo "$r" | sort -g | head -n 1 | xargs printf '%.2f')-$(echo "$r" | sort -g | tail -n 1 | xargs printf '%.2f'))"
			echo "  ($load) heap and kalamdb in the same pgbench runs: mean insert us" $(echo "$runs" | tr '\n' ';') \
				"-> kalamdb / heap throughput ${MIXED[$load]}"
			;;
	esac
done

log "(d) (b), then delete a third, VACUUM, insert a third again"
declare -A KEPT_EXTRA
for l in $LAYOUTS; do
	t=b_$l
	sql "DELETE FROM $t WHERE (id::text::bigint / 7) % 3 = 0" >/dev/null
	sql "VACUUM $t" >/dev/null
	sql "DROP TABLE IF EXISTS kept_$l; CREATE TABLE kept_$l AS SELECT * FROM owner_pages('$t')"
	t0=$(now_ms); pgbench_insert "$t" $((OWNERS * ROWS / 3 / 8)); t1=$(now_ms)
	measure d "$l" "$t" $((t1 - t0)) $((OWNERS * ROWS / 3))
	KEPT_EXTRA[$l]=$(sql "SELECT extra_beyond_kept('$t', 'kept_$l')")
	if [ "$l" = kalamdb ]; then D_INSERT_MS=$((t1 - t0)); fi
done
# kalamdb's answer to the holes the deletes left: kalam.compact() moves the
# rows of owners on more pages than they need (reads go on meanwhile)
t0=$(now_ms); COMPACT_ROWS=$(sql "SELECT kalam.compact('b_kalamdb')"); t1=$(now_ms); COMPACT_MS=$((t1 - t0))
measure d kalamdb_compacted b_kalamdb "$D_INSERT_MS" $((OWNERS * ROWS / 3))
KEPT_EXTRA[kalamdb_compacted]=$(sql "SELECT extra_beyond_kept('b_kalamdb', 'kept_kalamdb')")
echo "  (d) kalam.compact('b_kalamdb'): $COMPACT_ROWS rows moved in $COMPACT_MS ms"
sort -t'|' -k1,1 -s "$RESULTS" -o "$RESULTS"

echo
echo "bench/locality: rows of ~150 bytes; (a) $OWNERS owners x $ROWS rows round-robin, (b) pgbench 8 clients random owners,"
echo "(c) COPY in (a)'s order, (g) = (c') COPY grouped by owner, (f) = (c'') COPY of every column (batches),"
echo "(r) = (c''') COPY of every column grouped by owner (a dump's order, pg_restore's load),"
echo "(d) (b) + delete 1/3 + VACUUM + insert 1/3 (kalamdb_compacted: then kalam.compact(), $COMPACT_ROWS rows moved"
echo "    in $COMPACT_MS ms; its inserts/s are kalamdb's),"
echo "(e) $SMALL_OWNERS owners x 5 rows round-robin; inserts/s: median of $ROUNDS loads into fresh tables"
echo "pages/owner: average (minimum the rows need); worst: most extra pages of any owner; buffers: per-owner query"
printf '%-4s %-17s %8s %15s %6s %12s %9s %10s %12s\n' load layout pages "pages/owner" worst "owners/page" buffers "size MB" "inserts/s"
while IFS='|' read -r load layout rows owners pages ppo minppo worst opp size buf rate; do
	printf '%-4s %-17s %8d %7s (%5s) %6s %12s %9s %10.1f %12s\n' "$load" "$layout" "$pages" "$ppo" "$minppo" \
		"$worst" "$opp" "$buf" "$(awk -v s="$size" 'BEGIN {print s / 1048576}')" "$rate"
done <"$RESULTS"

echo
echo "(d): the deleted rows' owners keep their survivors where they were; most pages any owner has beyond"
echo "both the minimum its rows need and the pages its surviving rows already held:"
for l in $LAYOUTS kalamdb_compacted; do printf '  %-17s %s\n' "$l" "${KEPT_EXTRA[$l]}"; done

echo
echo "kalamdb against heap, same run (inserts: the ratio of the medians, and the median and range of the"
echo "ratios within each round, where the two loads ran minutes apart at most; for the pgbench loads also"
echo "$MIXED_RUNS runs of ${MIXED_SECONDS}s inserting into a heap and a kalamdb table at once, each transaction"
echo "picking one: heap latency / kalamdb latency, median (range) over the runs):"
printf '%-4s %22s %12s %16s %24s %24s\n' load "buffers: heap/kalamdb" "size ratio" "inserts ratio" "per round: median (range)" \
	"same runs: median (range)"
for load in a b c g f r d e; do
	h=$(grep "^$load|heap|" "$RESULTS")
	k=$(grep "^$load|kalamdb|" "$RESULTS")
	hb=$(echo "$h" | cut -d'|' -f11); kb=$(echo "$k" | cut -d'|' -f11)
	hs=$(echo "$h" | cut -d'|' -f10); ks=$(echo "$k" | cut -d'|' -f10)
	hr=$(echo "$h" | cut -d'|' -f12); kr=$(echo "$k" | cut -d'|' -f12)
	per_round=-
	if [ -n "${MS[$load:heap]:-}" ]; then
		r=$(paste <(echo "${MS[$load:heap]}" | tr ' ' '\n' | grep .) <(echo "${MS[$load:kalamdb]}" | tr ' ' '\n' | grep .) |
			awk '{printf "%.2f\n", $1 / $2}')
		per_round="$(echo "$r" | median) ($(echo "$r" | sort -g | head -n 1)-$(echo "$r" | sort -g | tail -n 1))"
	fi
	printf '%-4s %21sx %11sx %15sx %24s %24s\n' "$load" "$(ratio "$hb" "$kb")" "$(ratio "$ks" "$hs")" "$(ratio "$kr" "$hr")" "$per_round" \
		"${MIXED[$load]:--}"
done
