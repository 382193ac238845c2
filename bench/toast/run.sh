#!/bin/bash
# bench/toast: the TOAST table of a kalamdb table against heap's under
# churn: the same rows with values of 32 kB that do not compress, half of
# them deleted and replaced each cycle, VACUUM in between, in a heap table
# and a kalamdb table of the same database in one run.  A TOAST table that
# reuses the room VACUUM frees stays at about its first size; one that
# does not grows by the replaced values every cycle.
#
#   bash bench/toast/run.sh            # OWNERS=4 ROWS=200 CYCLES=6
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/common.sh"
source "$KALAM_ROOT/bench/common.sh"
OWNERS=${OWNERS:-4}
ROWS=${ROWS:-200}
CYCLES=${CYCLES:-6}

kalam_install_deps
kalam_build_install
kalam_cluster_start

sql() { PGOPTIONS="-c client_min_messages=warning" psql -X -q -At -v ON_ERROR_STOP=1 -d postgres -c "$1"; }
sql "CREATE EXTENSION kalamdb"

# rows(TABLE, CYCLE, WHERE): the table's rows i of this cycle, 32 kB values
rows() {
	sql "INSERT INTO $1 SELECT ('u' || i % $OWNERS)::kalam.user_id, i, string_agg(md5((i * 100000 + j * 100 + $2)::text), '')
		 FROM generate_series(1, $ROWS) i, generate_series(1, 1000) j WHERE $3 GROUP BY i"
}
toast_pages() { sql "SELECT pg_relation_size(reltoastrelid) / 8192 FROM pg_class WHERE oid = '$1'::regclass"; }

declare -A PAGES
for layout in heap kalamdb; do
	sql "CREATE TABLE docs_$layout (owner kalam.user_id NOT NULL, n int NOT NULL, body text NOT NULL) USING $layout"
	sql "CREATE INDEX ON docs_$layout (owner)"
	rows "docs_$layout" 0 true
	PAGES[$layout:0]=$(toast_pages "docs_$layout")
done
for cycle in $(seq "$CYCLES"); do
	log "cycle $cycle: delete half the rows, VACUUM, insert as many"
	for layout in heap kalamdb; do
		sql "DELETE FROM docs_$layout WHERE n % 2 = $((cycle % 2))"
		sql "VACUUM docs_$layout"
		rows "docs_$layout" "$cycle" "i % 2 = $((cycle % 2))"
		PAGES[$layout:$cycle]=$(toast_pages "docs_$layout")
	done
done

echo
echo "bench/toast: $ROWS rows of $OWNERS owners, 32 kB values; each cycle deletes half, VACUUMs and inserts as many"
printf '%-6s %12s %12s %10s\n' cycle "heap pages" "kalamdb" "ratio"
for cycle in $(seq 0 "$CYCLES"); do
	printf '%-6s %12s %12s %10s\n' "$cycle" "${PAGES[heap:$cycle]}" "${PAGES[kalamdb:$cycle]}" \
		"$(ratio "${PAGES[kalamdb:$cycle]}" "${PAGES[heap:$cycle]}")"
done
printf 'after %s cycles the TOAST table of kalamdb is %sx the size of heap'"'"'s\n' "$CYCLES" \
	"$(ratio "${PAGES[kalamdb:$CYCLES]}" "${PAGES[heap:$CYCLES]}")"
