#!/bin/sh
# `make valgrind`: the integration tests that start `mtls serve` or `mtls
# tunnel`, with those processes under valgrind (tests/integration/lib.sh's
# mtls_cmd runs them through $MTLS_WRAP).  Then every valgrind log is read:
# a memory error, a definite or indirect leak, or a descriptor mtls opened
# and left open at exit (unless a signal killed it as it started) fails the
# run, with the log shown.
#   BUILD=build tests/valgrind.sh [FILTER...]
# (default: serve tunnel attack_certs attack_resumption; the scanners and the
# renegotiation flood make hundreds of handshakes, too slow under valgrind)
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD="$top/$BUILD" ;; esac
logs="$BUILD/valgrind-logs"
rm -rf "$logs" && mkdir -p "$logs"
# Leaks that count: definite and indirect ("possibly lost" blocks are
# interior pointers that threads and OpenSSL's caches legitimately hold).
MTLS_WRAP="valgrind --leak-check=full --errors-for-leak-kinds=definite,indirect"
MTLS_WRAP="$MTLS_WRAP --show-leak-kinds=definite,indirect --track-fds=yes"
MTLS_WRAP="$MTLS_WRAP --error-exitcode=1 --num-callers=30"
export MTLS_WRAP="$MTLS_WRAP --log-file=$logs/vg.%p.log"

rc=0
for f in ${*:-serve tunnel attack_certs attack_resumption}; do
	BUILD=$BUILD "$top/tests/run-all.sh" integration "$f" || rc=1
done

# One line per finding: "LOG: what".
findings=$(for l in "$logs"/vg.*.log; do
	[ -f "$l" ] || continue
	awk -v f="$l" '
	/ERROR SUMMARY: [1-9]/ { print f ": " $0; next }
	# Killed by a signal it had no handler for yet (a test stopping a
	# serve that is still starting): what was open at that instant (a
	# library ld.so was mapping, a certificate being read) is no leak.
	/Process terminating with default action of signal/ { killed = 1 }
	killed { next }
	/Open (file descriptor|AF_[A-Z0-9]+ socket|[a-z]+ socket) [0-9]+/ {
		pending = $0; next
	}
	pending != "" {
		if ($0 !~ /<inherited from parent>/)
			print f ": left open at exit: " pending
		pending = ""
	}' "$l"
done)
n=$(ls "$logs" | wc -l)
if [ -n "$findings" ]; then
	echo "$findings" | sed 's/^/valgrind: /'
	for l in $(echo "$findings" | cut -d: -f1 | sort -u); do
		echo "== $l"; cat "$l"
	done
	echo "valgrind: $(echo "$findings" | wc -l) finding(s) in $n log(s), $logs"
	exit 1
fi
[ "$n" -gt 0 ] || { echo "valgrind: no process ran under valgrind (do the tests start mtls through mtls_cmd?)"; exit 1; }
echo "valgrind: $n process(es), no error, no leak, no descriptor left open"
exit $rc
