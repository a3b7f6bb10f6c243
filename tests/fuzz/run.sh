#!/bin/sh
# Runs every libFuzzer target of a fuzz build for a set time and fails if
# any finds a crash, a leak, a hang (10 s on one input) or a broken
# property.  Built by `make fuzz-bins`; `make fuzz` calls this.
#   tests/fuzz/run.sh BUILD-DIR SECONDS [JOBS [TARGET...]]
# Each target starts from its seeds, tests/fuzz/corpus/NAME/, and keeps
# what it learns in BUILD-DIR/fuzz-corpus/NAME/ (never in the tree).  A
# crashing input is left in BUILD-DIR/fuzz-artifacts/NAME/: once the bug is
# fixed, add it to tests/fuzz/corpus/NAME/ as a regression seed.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:?usage: run.sh BUILD-DIR SECONDS [JOBS [TARGET...]]}
secs=${2:-60}
jobs=${3:-1}
[ $# -ge 3 ] && shift 3 || shift $#
case $build in /*) ;; *) build="$top/$build" ;; esac

targets=$*
if [ -z "$targets" ]; then
	for b in "$build"/fuzz/fuzz_*; do
		[ -x "$b" ] && targets="$targets $(basename "$b" | sed 's/^fuzz_//')"
	done
fi
[ -n "$targets" ] || { echo "run.sh: no fuzz targets in $build/fuzz (make fuzz-bins)" >&2; exit 2; }

# Per target: the largest input worth trying and its dictionary.
max_len() {
	case $1 in
	addr) echo 1024 ;;
	proxy_v2) echo 512 ;;
	policy|trace|srvconf) echo 4096 ;;
	*) echo 8192 ;;
	esac
}
dict() {
	case $1 in
	inspect|cert|csr|crl|key) echo "-dict=$top/tests/fuzz/pem.dict" ;;
	policy) echo "-dict=$top/tests/fuzz/policy.dict" ;;
	srvconf) echo "-dict=$top/tests/fuzz/srvconf.dict" ;;
	esac
}

# Leak checking on every input costs libFuzzer a leak scan per run (OpenSSL's
# lazy caches make most runs look suspect): 20 times fewer executions.  So
# the search runs without it, and the corpus it found, seeds included, is
# then replayed once with it.
run_target() { # name
	n=$1
	seeds="$top/tests/fuzz/corpus/$n"
	work="$build/fuzz-corpus/$n"
	art="$build/fuzz-artifacts/$n"
	log="$build/fuzz-logs/$n.log"
	mkdir -p "$work" "$art" "$build/fuzz-logs"
	# shellcheck disable=SC2046
	"$build/fuzz/fuzz_$n" -max_total_time="$secs" -timeout=10 \
	    -rss_limit_mb=2048 -max_len="$(max_len "$n")" $(dict "$n") \
	    -detect_leaks=0 -print_final_stats=1 -artifact_prefix="$art/" \
	    "$work" "$seeds" >"$log" 2>&1 || return $?
	echo "== leak check: the corpus replayed once" >>"$log"
	"$build/fuzz/fuzz_$n" -runs=0 -timeout=10 -rss_limit_mb=2048 \
	    -detect_leaks=1 -artifact_prefix="$art/" "$work" "$seeds" \
	    >>"$log" 2>&1
}

report() { # name status
	log="$build/fuzz-logs/$1.log"
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | head -n 1)
	cov=$(sed -n '/^== leak check/q; p' "$log" | grep -o 'cov: [0-9]*' | tail -n 1)
	corpus=$(ls "$build/fuzz-corpus/$1" | wc -l)
	if [ "$2" -eq 0 ]; then
		echo "PASS fuzz_$1: ${runs:-?} runs in ${secs}s, ${cov:-cov: ?}, corpus $corpus"
	else
		fail=$((fail + 1)); failed="$failed $1"
		echo "FAIL fuzz_$1 (exit $2); last lines of $log:"
		grep -v '^#\|^INFO\|^MS:\|^base64' "$log" | tail -n 30 | sed 's/^/    /'
		ls "$build/fuzz-artifacts/$1" | sed 's/^/    artifact: /'
	fi
}

fail=0 failed="" pids="" names=""
flush() {
	set -- $names
	for p in $pids; do
		wait "$p"; st=$?
		report "$1" "$st"
		shift
	done
	pids="" names=""
}
for n in $targets; do
	[ -x "$build/fuzz/fuzz_$n" ] || { echo "run.sh: no $build/fuzz/fuzz_$n" >&2; exit 2; }
	run_target "$n" &
	pids="$pids $!" names="$names $n"
	[ "$(echo $pids | wc -w)" -ge "$jobs" ] && flush
done
flush
echo
[ -n "$failed" ] && echo "fuzz: failed:$failed"
[ $fail -eq 0 ]
