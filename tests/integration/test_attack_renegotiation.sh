#!/bin/sh
# A client-initiated TLS 1.2 renegotiation (CVE-2011-1473: each one costs
# the server a handshake) is refused: mtls serve answers the new
# ClientHello with a no_renegotiation alert and never runs a second
# handshake.  Repeated 150 times, the server's memory stays flat.
. "$MTLS_TOP/tests/integration/lib.sh"
. "$MTLS_TOP/tests/integration/serve_lib.sh"
. "$MTLS_TOP/tests/integration/scan_lib.sh"

make_pki
start_backend echo
serve_with pki/server --allow-cn client --workers 1

# One TLS 1.2 connection: data, then "R" asks s_client to renegotiate.
reneg() {
	(printf 'ping\n'; sleep "$PAUSE"; printf 'R\n'; sleep "$PAUSE") |
	    timeout 10 openssl s_client -connect "127.0.0.1:$PORT" -tls1_2 \
	    -cert pki/client.crt -key pki/client.key -CAfile pki/ca/ca.crt \
	    -servername localhost >"$T/reneg.out" 2>&1
}
reneg
assert_contains "$T/reneg.out" "New, TLSv1.2"
assert_contains "$T/reneg.out" "RENEGOTIATING"
assert_contains "$T/reneg.out" "no renegotiation"
ok "a TLS 1.2 renegotiation request is answered with no_renegotiation"

rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$SPID/status"; }
# Many at once: no second handshake ever runs, so it is cheap for the server.
burst() { # count
	i=0
	while [ $i -lt "$1" ]; do
		j=0 pids=""
		while [ $j -lt 10 ]; do
			(printf 'R\n'; sleep "$PAUSE") | timeout 20 openssl s_client \
			    -connect "127.0.0.1:$PORT" -tls1_2 -cert pki/client.crt \
			    -key pki/client.key -CAfile pki/ca/ca.crt \
			    -servername localhost >/dev/null 2>&1 &
			pids="$pids $!"
			j=$((j + 1))
		done
		for p in $pids; do wait "$p"; done
		i=$((i + 10))
	done
}
burst 30
before=$(rss)
burst 150
after=$(rss)
kill -0 "$SPID" || fail "mtls serve died"
echo "serve RSS: $before kB after 30 renegotiation attempts, $after kB after 180"
# Under ASan (its quarantine holds freed memory) or valgrind the resident size
# says nothing; there LeakSanitizer and valgrind judge leaks instead.
if [ -n "${ASAN_OPTIONS:-}${MTLS_WRAP:-}" ]; then
	echo "instrumented run: resident size not compared"
else
	[ $((after - before)) -lt 8192 ] ||
	    fail "serve memory grew by $((after - before)) kB over 150 refused renegotiations"
fi
n=$(grep -c "outcome=" "$T/serve.log")
[ "$n" -ge 180 ] || fail "serve logged only $n connections"
ok "150 more renegotiation attempts; serve alive, RSS $before -> $after kB"
