#!/bin/sh
# mtls tunnel against openssl s_server -Verify 1 -verify_return_error -rev
# (it reverses each line): a plain client gets its line reversed through
# the tunnel.  A server certificate from a CA we do not trust, or for
# another name, is refused before anything of the client's is sent: the
# client's connection is closed, the log says why, and a recording relay
# between the tunnel and the server sees no client bytes in clear.  A
# server that does not trust our certificate refuses us: TLS 1.2 during
# the handshake, TLS 1.3 with its alert after it; both logged.
. "$MTLS_TOP/tests/integration/lib.sh"
. "$MTLS_TOP/tests/integration/serve_lib.sh"

command -v socat >/dev/null 2>&1 || skip "socat is not installed"
make_pki

# s_server PORT CAFILE [extra]: the server, output in $T/ss-PORT.log.
s_server() {
	sport=$1; ca=$2; shift 2
	openssl s_server -accept "127.0.0.1:$sport" -cert pki/server.crt \
	    -key pki/server.key -CAfile "$ca" -Verify 1 -verify_return_error \
	    -rev "$@" </dev/null >"$T/ss-$sport.log" 2>&1 &
	track $!
	wait_port "$sport"
}

SPORT=$(free_port)
s_server "$SPORT" pki/ca/ca.crt
# A relay that records what the tunnel sends upstream.
RPORT=$(free_port)
socat -r "$T/wire" TCP-LISTEN:"$RPORT",bind=127.0.0.1,reuseaddr,fork \
    TCP:127.0.0.1:"$SPORT" 2>/dev/null &
track $!
wait_port "$RPORT"
: >"$T/wire"

start_tunnel "$RPORT" --workers 1
run 0 python3 "$PLAIN_CLIENT" "$TPORT" line "hello-secret-1"
assert_contains "$T/out" "1-terces-olleh"
wait_file_log "$T/tunnel.log" "outcome=ok"
assert_contains "$T/tunnel.log" "subject=\"CN=localhost\""
assert_contains "$T/ss-$SPORT.log" "Verification: OK"
assert_file "$T/wire"
assert_not_contains "$T/wire" "hello-secret"
ok "s_server requiring a client certificate answers through the tunnel; only TLS on the wire"
kill "$TPID"; wait "$TPID" 2>/dev/null

: >"$T/tunnel.log"
start_tunnel "$RPORT" --ca other/ca.crt
run 0 python3 "$PLAIN_CLIENT" "$TPORT" line "hello-secret-2"
[ -s "$T/out" ] && { cat "$T/out"; fail "the client got data from a refused upstream"; }
wait_file_log "$T/tunnel.log" "outcome=rejected"
assert_contains "$T/tunnel.log" "unknown CA: issuer CN=$(ca_cn pki/ca/ca.crt) is not trusted"
assert_not_contains "$T/wire" "hello-secret"
ok "a server certificate from another CA: refused, logged, the client closed, nothing sent in clear"
kill "$TPID"; wait "$TPID" 2>/dev/null

: >"$T/tunnel.log"
start_tunnel "$RPORT" --servername wrong.example
run 0 python3 "$PLAIN_CLIENT" "$TPORT" first
assert_contains "$T/out" "EOF"
wait_file_log "$T/tunnel.log" "outcome=rejected"
assert_contains "$T/tunnel.log" "does not match the name wrong.example"
assert_not_contains "$T/wire" "hello-secret"
ok "a server certificate for another name: refused and logged, the client closed"
kill "$TPID"; wait "$TPID" 2>/dev/null

# Servers that trust another CA than the one that issued our certificate.
S12=$(free_port)
s_server "$S12" other/ca.crt -tls1_2
: >"$T/tunnel.log"
start_tunnel "$S12"
run 0 python3 "$PLAIN_CLIENT" "$TPORT" first
assert_contains "$T/out" "EOF"
wait_file_log "$T/tunnel.log" "outcome=refused"
assert_contains "$T/tunnel.log" "the server refused the handshake"
ok "TLS 1.2: the server refuses our certificate in the handshake; logged as refused"
kill "$TPID"; wait "$TPID" 2>/dev/null

S13=$(free_port)
s_server "$S13" other/ca.crt -tls1_3
: >"$T/tunnel.log"
start_tunnel "$S13"
# The client only reads: had it written, the server's close could cross our
# data and reset the connection, and Linux drops the unread alert on a reset.
run 0 python3 "$PLAIN_CLIENT" "$TPORT" first
assert_contains "$T/out" "EOF"
wait_file_log "$T/tunnel.log" "outcome=upstream_error"
assert_contains "$T/tunnel.log" "the peer sent the alert"
ok "TLS 1.3: the server's refusal after the handshake is logged with its alert"
