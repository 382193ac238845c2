#!/bin/bash
# bench/owner_sizes: table size by rows per owner, heap against kalamdb, in
# one run.  Owners with up to kalam.small_owner_rows rows share pages; one
# row more, and an owner has a page of its own (besides its shared page),
# however little of it it fills.  This prints where that costs space: for
# each owner size, OWNERS owners' rows (~150 bytes: owner, row id, text,
# timestamp) inserted round-robin into a heap and a kalamdb table, with
# kalam.small_owner_rows at its default (5) and at each value of LIMITS.
#
#   bash bench/owner_sizes/run.sh      # OWNERS=2000 SIZES="1 3 5 6 10 20 21 50 100 200" LIMITS="20"
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/common.sh"
source "$KALAM_ROOT/bench/common.sh"
OWNERS=${OWNERS:-2000}
SIZES=${SIZES:-1 3 5 6 10 20 21 50 100 200}
LIMITS=${LIMITS:-20}

kalam_install_deps
kalam_build_install
kalam_cluster_start

sql() { PGOPTIONS="-c client_min_messages=warning" psql -X -q -At -v ON_ERROR_STOP=1 -d postgres -c "$1"; }
sql "CREATE EXTENSION kalamdb"

set_limit() {
	sql "ALTER SYSTEM SET kalam.small_owner_rows = $1"
	sql "SELECT pg_reload_conf()" >/dev/null
	# the setting reaches backends started from now on
	until [ "$(sql "SHOW kalam.small_owner_rows")" = "$1" ]; do sleep 0.1; done
}

# load N: N rows of each owner, round-robin, into a heap and a kalamdb
# table; prints heap pages, kalamdb pages, kalamdb pages per owner (average
# and most)
load() {
	local n=$1
	for layout in heap kalamdb; do
		sql "DROP TABLE IF EXISTS sizes_$layout"
		sql "CREATE TABLE sizes_$layout (owner kalam.user_id NOT NULL, id bigint NOT NULL,
			 body text NOT NULL, at timestamptz NOT NULL) USING $layout"
		sql "CREATE INDEX ON sizes_$layout (owner)"
		sql "INSERT INTO sizes_$layout SELECT ('u' || (i % $OWNERS))::kalam.user_id, i, repeat('b', 100), now()
			 FROM generate_series(0, $((OWNERS * n - 1))) i"
	done
	sql "SELECT pg_relation_size('sizes_heap') / 8192, pg_relation_size('sizes_kalamdb') / 8192,
			round(avg(pages), 2), max(pages)
		 FROM (SELECT count(DISTINCT (ctid::text::point)[0]) AS pages FROM sizes_kalamdb GROUP BY owner) p" |
		tr '|' ' '
}

declare -a ROWS_OUT
for limit in 5 $LIMITS; do
	set_limit "$limit"
	for n in $SIZES; do
		log "small_owner_rows $limit: $OWNERS owners x $n rows"
		read -r heap kalamdb per_owner most <<<"$(load "$n")"
		ROWS_OUT+=("$(printf '%-16s %6s %10s %10s %8s %14s %6s' "$limit" "$n" "$heap" "$kalamdb" \
			"$(ratio "$kalamdb" "$heap")" "$per_owner" "$most")")
	done
done

echo
echo "bench/owner_sizes: $OWNERS owners, rows of ~150 bytes inserted round-robin; pages of the table"
printf '%-16s %6s %10s %10s %8s %14s %6s\n' small_owner_rows "rows" "heap" "kalamdb" "ratio" "pages/owner" "most"
printf '%s\n' "${ROWS_OUT[@]}"
