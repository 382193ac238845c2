# bench/common.sh: helpers for the benchmarks (sourced after scripts/common.sh).

# median of the numbers on stdin
median() { sort -g | awk '{a[NR] = $1} END {if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }

# ratio A B, with 2 decimals
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (b == 0) print "n/a"; else printf "%.2f", a / b}'; }

# the server-side execution time (ms) of a query, median of N runs, after
# optional settings
exec_ms() {	# exec_ms DB RUNS SQL [SETTINGS]
	local db=$1 runs=$2 sql=$3 settings=${4:-}
	for _ in $(seq "$runs"); do
		psql -X -q -At -d "$db" -c "$settings EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) $sql" |
			python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Execution Time"])'
	done | median
}
