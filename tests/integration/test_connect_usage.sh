#!/bin/sh
# "mtls connect" usage errors exit 2 with one line saying what is wrong;
# --insecure-skip-verify reports what it skipped.
. "$MTLS_TOP/tests/integration/lib.sh"
. "$MTLS_TOP/tests/integration/s_server_lib.sh"

run 2 "$MTLS" connect
assert_contains "$T/err" "HOST:PORT is required"
run 2 "$MTLS" connect localhost:443
assert_contains "$T/err" "--ca is required"
run 2 "$MTLS" connect localhost --ca x
assert_contains "$T/err" "expected HOST:PORT"
run 2 "$MTLS" connect localhost:99999 --ca x
assert_contains "$T/err" "the port must be 1 to 65535"
run 2 "$MTLS" connect '[::1:443' --ca x
assert_contains "$T/err" "expected [IPv6]:PORT"
run 2 "$MTLS" connect localhost:443 --ca x --cert c
assert_contains "$T/err" "--cert and --key go together"
run 2 "$MTLS" connect localhost:443 --ca x --tls-max 1.1
assert_contains "$T/err" "is not 1.2 or 1.3"
run 2 "$MTLS" connect localhost:443 --ca x --insecure
assert_contains "$T/err" "unknown option"
run 0 "$MTLS" connect --help
assert_contains "$T/out" "--insecure-skip-verify"
ok "usage errors exit 2 and say why"

run 1 "$MTLS" connect localhost:443 --ca /nonexistent/ca.crt
assert_one_line_error "/nonexistent/ca.crt"
ok "a missing CA file is one line naming it"

run 0 "$MTLS" init --dir pki
port=$(free_port)
openssl s_server -accept "[::1]:$port" -cert pki/server.crt \
    -key pki/server.key -CAfile pki/ca/ca.crt -Verify 1 \
    -verify_return_error -quiet </dev/null >s_server.log 2>&1 &
track $!
sleep 0.5
if "$MTLS" connect "[::1]:$port" --cert pki/client.crt --key pki/client.key \
    --ca pki/ca/ca.crt >"$T/out" 2>&1; then
	assert_contains "$T/out" "TCP: connected to [::1]:$port"
	assert_contains "$T/out" "name ::1 matches"
	ok "[IPv6]:PORT, the address checked against the IP SAN"
elif grep -q "Cannot assign\|not available\|Address family" "$T/out" s_server.log; then
	echo "no IPv6 loopback here: [::1] case not run"
else
	cat "$T/out" s_server.log; fail "[::1] connect failed"
fi

run 0 "$MTLS" init --dir other
port=$(free_port)
s_server_mtls "$port"
run 0 "$MTLS" connect "127.0.0.1:$port" --servername nothere.example \
    --cert pki/client.crt --key pki/client.key --insecure-skip-verify
assert_contains "$T/out" "Server certificate: NOT checked (--insecure-skip-verify); it would have failed"
ok "--insecure-skip-verify connects and says what it skipped"

# A TLS server that does not ask for a client certificate, and a port that
# does not speak TLS.
port=$(free_port)
s_server "$port" -cert pki/server.crt -key pki/server.key
run 1 "$MTLS" connect "localhost:$port" --cert pki/client.crt \
    --key pki/client.key --ca pki/ca/ca.crt
assert_contains "$T/out" "Server certificate: verified"
assert_contains "$T/out" "the server did not ask for one (this is not mutual TLS)"
ok "a server without client authentication: exit 1, not mutual TLS"

port=$(free_port)
python3 -c 'import socket,sys
s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(4)
while True:
    c, _ = s.accept()
    try:
        c.recv(4096); c.sendall(b"HTTP/1.0 400 Bad Request\r\n\r\n")
    except OSError:
        pass
    c.close()' "$port" &
track $!
wait_port "$port"
run 1 "$MTLS" connect "localhost:$port" --ca pki/ca/ca.crt
assert_contains "$T/out" "TLS: handshake failed: wrong version number (the server does not seem to speak TLS on this port)"
ok "a plaintext port: said in words"

# No TLS version in common.
port=$(free_port)
s_server "$port" -cert pki/server.crt -key pki/server.key \
    -CAfile pki/ca/ca.crt -Verify 1 -tls1_2
run 1 "$MTLS" connect "localhost:$port" --cert pki/client.crt \
    --key pki/client.key --ca pki/ca/ca.crt --tls-min 1.3
assert_contains "$T/out" "protocol_version alert"
assert_contains "$T/out" "(no TLS version in common: see --tls-min and --tls-max)"
assert_one_line_error "the server refused the handshake: protocol_version alert"
ok "no TLS version in common: the alert and what to change"
