#!/bin/bash
# test.sh: the whole kalamdb test suite on a fresh machine.
#
#   sudo bash scripts/test.sh
#
# Installs what is missing (Debian packages), builds with warnings as
# errors, installs, starts a throwaway server (shared_preload_libraries =
# 'kalamdb') and runs, in order:
#   pg_regress            sql/*.sql against expected/*.out
#   pg_prove (pgTAP)      test/pgtap/*.sql
#   pg_isolation_regress  test/isolation/specs/*.spec
#   prove (TAP)           test/t/*.pl, each with its own clusters
# It prints each runner's own summary, then a table, and ends with the line
# "N passed, N failed".  The exit status is 0 only if nothing failed.

source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$KALAM_ROOT"

declare -A PASSED FAILED
RUNNERS=()

record() {	# record RUNNER PASSED FAILED
	RUNNERS+=("$1")
	PASSED[$1]=$2
	FAILED[$1]=$3
}

# pg_regress prints one "test NAME ... ok|FAILED" line per test.
count_regress() {	# count_regress RUNNER OUTPUT_FILE EXIT_STATUS
	local ok bad
	ok=$(grep -cE '\.\.\. ok' "$2" || true)
	bad=$(grep -cE '\.\.\. (FAILED|failed)' "$2" || true)
	if [ "$3" -ne 0 ] && [ "$bad" -eq 0 ]; then bad=1; fi
	record "$1" "$ok" "$bad"
}

# TAP::Harness (pg_prove, prove): "Files=F, Tests=T" and, per failing file,
# "(Wstat: W Tests: T Failed: F)"; a file that failed without a failed
# test (it died, or its plan was wrong) counts as one failure.
count_tap() {	# count_tap RUNNER OUTPUT_FILE EXIT_STATUS
	local total bad
	total=$( (grep -oE 'Files=[0-9]+, Tests=[0-9]+' "$2" || true) | tail -1 | sed -E 's/.*Tests=//')
	total=${total:-0}
	bad=$( (grep -oE 'Tests: [0-9]+ Failed: [0-9]+' "$2" || true) |
		awk '{s += ($4 > 0 ? $4 : 1)} END {print s + 0}')
	if [ "$3" -ne 0 ] && [ "$bad" -eq 0 ]; then bad=1; fi
	record "$1" $((total - bad < 0 ? 0 : total - bad)) "$bad"
}

kalam_install_deps
kalam_build_install
kalam_cluster_start

OUT=$KALAM_TMP/out
mkdir -p "$OUT"

log "pg_regress: sql/ against expected/"
make -s installcheck PG_CONFIG="$PG_BIN/pg_config" 2>&1 | tee "$OUT/regress" && status=0 || status=${PIPESTATUS[0]}
[ "$status" -ne 0 ] && [ -f regression.diffs ] && head -n 200 regression.diffs
count_regress pg_regress "$OUT/regress" "$status"

log "pgTAP: test/pgtap/ with pg_prove"
psql -q -X -v ON_ERROR_STOP=1 -d postgres -c "CREATE DATABASE kalam_tap"
psql -q -X -v ON_ERROR_STOP=1 -d kalam_tap -c "CREATE EXTENSION pgtap" -c "CREATE EXTENSION kalamdb"
pg_prove -d kalam_tap --ext .sql test/pgtap/ 2>&1 | tee "$OUT/pgtap" && status=0 || status=${PIPESTATUS[0]}
count_tap pgTAP "$OUT/pgtap" "$status"

if compgen -G "test/isolation/specs/*.spec" >/dev/null; then
	log "isolation: test/isolation/specs/ with pg_isolation_regress"
	specs=$(cd test/isolation/specs && ls *.spec | sed 's/\.spec$//' | sort)
	# shellcheck disable=SC2086
	"$PG_BIN/../lib/pgxs/src/test/isolation/pg_isolation_regress" \
		--inputdir=test/isolation --outputdir="$OUT/isolation_out" \
		--load-extension=kalamdb --dbname=kalam_isolation \
		--host="$PGHOST" --port="$PGPORT" --user=postgres \
		$specs 2>&1 | tee "$OUT/isolation" && status=0 || status=${PIPESTATUS[0]}
	[ "$status" -ne 0 ] && [ -f "$OUT/isolation_out/regression.diffs" ] && head -n 200 "$OUT/isolation_out/regression.diffs"
	count_regress isolation "$OUT/isolation" "$status"
fi

if compgen -G "test/t/*.pl" >/dev/null; then
	log "TAP: test/t/ with prove (restart, crash, dump/restore)"
	tapdir=$KALAM_TMP/tap
	mkdir -p "$tapdir"
	cp -r test/t "$tapdir/t"
	chown -R postgres:postgres "$tapdir"
	(cd "$tapdir" && runuser -u postgres -- env \
		PATH="$PG_BIN:/usr/bin:/bin" \
		PERL5LIB="$PG_BIN/../lib/pgxs/src/test/perl" \
		PG_REGRESS="$PG_BIN/../lib/pgxs/src/test/regress/pg_regress" \
		TESTDIR="$tapdir" KALAM_ROOT="$KALAM_ROOT" \
		prove --ext .pl t/) 2>&1 | tee "$OUT/tap" && status=0 || status=${PIPESTATUS[0]}
	count_tap TAP "$OUT/tap" "$status"
	if [ "$status" -ne 0 ]; then
		for f in "$tapdir"/tmp_check/log/*; do
			[ -f "$f" ] || continue
			echo "--- $f (last 30 lines)"; tail -n 30 "$f"
		done
	fi
fi

total_passed=0
total_failed=0
echo
echo "runner      passed  failed"
for r in "${RUNNERS[@]}"; do
	printf '%-10s %7d %7d\n' "$r" "${PASSED[$r]}" "${FAILED[$r]}"
	total_passed=$((total_passed + PASSED[$r]))
	total_failed=$((total_failed + FAILED[$r]))
done
echo
echo "$total_passed passed, $total_failed failed"
[ "$total_failed" -eq 0 ]
