#!/bin/sh
# Runs the test suite: the cmocka unit tests, then the integration scripts
# (tests/integration/test_*.sh, one scenario each, real peers).  Prints a
# line per test and, last, "N passed, N failed".
#   tests/run-all.sh [unit|integration] [NAME-FILTER]
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD="$top/$BUILD" ;; esac
export MTLS="$BUILD/mtls" MTLS_TOP="$top" MTLS_BUILD="$BUILD"
which=${1:-all}
filter=${2:-}
pass=0 fail=0 skip=0 failed=""
logdir="$BUILD/test-logs"
mkdir -p "$logdir/unit" "$logdir/integration"

run_one() { # name, command...
	name=$1; shift
	start=$(date +%s)
	# A hang guard, so that one stuck test cannot eat CI's time: on expiry
	# the test gets SIGTERM, and its trap stops what it started.
	timeout -k 10 "${TEST_TIMEOUT:-600}" "$@" >"$logdir/$name.log" 2>&1
	rc=$?
	[ $rc -eq 124 ] && echo "(timed out after ${TEST_TIMEOUT:-600}s)" >>"$logdir/$name.log"
	secs=$(( $(date +%s) - start ))
	if [ $rc -eq 0 ]; then
		pass=$((pass + 1)); echo "PASS $name (${secs}s)"
	elif [ $rc -eq 77 ]; then
		skip=$((skip + 1)); echo "SKIP $name: $(tail -n 1 "$logdir/$name.log")"
	else
		fail=$((fail + 1)); failed="$failed $name"
		echo "FAIL $name (${secs}s, exit $rc); last lines of $logdir/$name.log:"
		tail -n 25 "$logdir/$name.log" | sed 's/^/    /'
	fi
}

if [ "$which" = all ] || [ "$which" = unit ]; then
	for t in "$BUILD"/tests/test_*; do
		[ -x "$t" ] || continue
		n=$(basename "$t")
		case $n in *"$filter"*) ;; *) continue ;; esac
		run_one "unit/$n" "$t"
	done
fi
if [ "$which" = all ] || [ "$which" = integration ]; then
	for t in "$top"/tests/integration/test_*.sh; do
		[ -f "$t" ] || continue
		n=$(basename "$t" .sh)
		case $n in *"$filter"*) ;; *) continue ;; esac
		run_one "integration/$n" sh "$t"
	done
fi

echo
[ -n "$failed" ] && echo "failed:$failed"
echo "$pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ] && [ $pass -gt 0 ]
