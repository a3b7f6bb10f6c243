#!/bin/sh
# --ticket-key-file: two instances sharing the ticket keys resume each
# other's sessions (several proxies behind one balancer), the log says
# "resumed=yes", and an instance with other keys does not resume them.
. "$MTLS_TOP/tests/integration/lib.sh"
. "$MTLS_TOP/tests/integration/serve_lib.sh"

make_pki
head -c 80 /dev/urandom >tickets.key
head -c 80 /dev/urandom >other.key
chmod 600 tickets.key other.key
start_backend echo
start_serve --allow-cn client --ticket-key-file tickets.key
A=$PORT
start_serve --allow-cn client --ticket-key-file tickets.key
B=$PORT
start_serve --allow-cn client --ticket-key-file other.key
C=$PORT

xchg() { # PORT OUT [args]
	p=$1 o=$2; shift 2
	# TLS 1.3 tickets come after the handshake: give a slow (valgrind)
	# serve time to send them before s_client hangs up.
	(printf 'x\n'; sleep 2) | timeout 10 openssl s_client -connect "127.0.0.1:$p" \
	    -CAfile pki/ca/ca.crt -cert pki/client.crt -key pki/client.key "$@" >"$o" 2>&1
}
xchg "$A" s1.out -sess_out sess.pem
[ -s sess.pem ] || fail "no session from instance A"
xchg "$B" s2.out -sess_in sess.pem
assert_contains s2.out "Reused"
assert_contains s2.out "x"
wait_log "resumed=yes"
ok "a session from instance A resumes on instance B with the same ticket keys"
xchg "$C" s3.out -sess_in sess.pem
assert_contains s3.out "New,"
assert_not_contains s3.out "Reused"
ok "an instance with other ticket keys makes a full handshake"
