#!/bin/sh
# mtls doctor --connect: real servers set up wrong in one way each
# (openssl s_server without client auth, with another client CA, in TLS 1.2
# and 1.3; a plaintext HTTP server; a silent listener; a closed port; a
# wrong name; an untrusted server CA; a missing intermediate) and set up
# right, each asserting the exact finding code and the exit status.
. "$MTLS_TOP/tests/integration/lib.sh"

q() { "$@" >/dev/null 2>"$T/setup.err" || { cat "$T/setup.err"; fail "setup: $*"; }; }
q "$MTLS" init --dir pki
q "$MTLS" ca init --dir other --name "Other CA"
q "$MTLS" ca init --dir inter --parent pki/ca --name "Doctor Intermediate"
q "$MTLS" cert issue --ca inter --server --name localhost --out mid
# The leaf alone, without the intermediate that follows it in mid.crt.
openssl x509 -in mid.crt -out mid-leaf.crt 2>/dev/null || fail "split mid.crt"
cat pki/ca/ca.crt inter/ca.crt >root-and-inter.crt

CERT="--cert pki/client.crt --key pki/client.key --ca pki/ca/ca.crt"

# s_server PORT ARGS...: an openssl test server on 127.0.0.1:PORT.
s_server() {
	port=$1; shift
	openssl s_server -accept "127.0.0.1:$port" -quiet "$@" \
	    </dev/null >"$T/s_server.$port.log" 2>&1 &
	track $!
	wait_port "$port"
}

check() { # NAME STATUS CODE ARGS...
	name=$1 want=$2 code=$3; shift 3
	"$MTLS" doctor --json --timeout 3 "$@" >"$T/out" 2>"$T/err"
	got=$?
	[ "$got" -eq "$want" ] || { cat "$T/out" "$T/err";
	    fail "$name: exited $got, expected $want"; }
	python3 - "$T/out" "$code" <<'PY' || { cat "$T/out"; fail "$name: no finding $code"; }
import json, sys
doc = json.load(open(sys.argv[1]))
codes = [f["code"] for f in doc["findings"]]
sys.exit(0 if sys.argv[2] in codes else 1)
PY
	ok "$name: $code (exit $want)"
}

# (c) fine: asks for a certificate from our CA and accepts ours.
good=$(free_port)
s_server "$good" -cert pki/server.crt -key pki/server.key \
    -Verify 2 -CAfile pki/ca/ca.crt -verify_return_error
# shellcheck disable=SC2086
check healthy 0 ok-client-cert-accepted $CERT --connect "127.0.0.1:$good"
assert_not_contains "$T/out" '"severity": "error"'
assert_contains "$T/out" '"ok-handshake"'
assert_contains "$T/out" '"ok-server-cert"'
assert_contains "$T/out" '"ok-client-auth-requested"'
# shellcheck disable=SC2086
check healthy-by-name 0 ok-server-cert $CERT --connect "localhost:$good"
# No client certificate given, but the server requires one.
check no-client-cert 1 client-cert-missing --ca pki/ca/ca.crt \
    --connect "127.0.0.1:$good"
# Our CA file does not hold the server's CA.
check server-untrusted 1 server-cert-untrusted --ca other/ca.crt \
    --connect "127.0.0.1:$good"
assert_contains "$T/out" "mtls Root CA"
# The name we connect with is not in the server's SANs.
# shellcheck disable=SC2086
check server-name 1 server-name-mismatch $CERT \
    --connect "127.0.0.1:$good" --servername api.example.com

# (a) does not ask for a client certificate: not mutual TLS.
noauth=$(free_port)
s_server "$noauth" -cert pki/server.crt -key pki/server.key
# shellcheck disable=SC2086
check no-client-auth 0 server-no-client-auth $CERT \
    --connect "127.0.0.1:$noauth"

# (b) requires a client certificate from another CA: TLS 1.3 (the alert
# comes after the handshake) and TLS 1.2 (during it).
otherca=$(free_port)
s_server "$otherca" -cert pki/server.crt -key pki/server.key \
    -Verify 2 -CAfile other/ca.crt -verify_return_error
# shellcheck disable=SC2086
check rejected-tls13 1 client-cert-rejected $CERT \
    --connect "127.0.0.1:$otherca"
assert_contains "$T/out" "client-ca-not-accepted"
assert_contains "$T/out" "Other CA"
python3 - "$T/out" <<'PY' || fail "rejected-tls13: the alert is not named"
import json, sys
doc = json.load(open(sys.argv[1]))
f = [f for f in doc["findings"] if f["code"] == "client-cert-rejected"][0]
assert "unknown_ca" in f["explanation"] or "bad_certificate" in f["explanation"], f
PY
other12=$(free_port)
s_server "$other12" -tls1_2 -cert pki/server.crt -key pki/server.key \
    -Verify 2 -CAfile other/ca.crt -verify_return_error
# shellcheck disable=SC2086
check rejected-tls12 1 client-cert-rejected $CERT \
    --connect "127.0.0.1:$other12"

# The server sends only its leaf, not the intermediate that issued it.
nomid=$(free_port)
s_server "$nomid" -cert mid-leaf.crt -key mid.key
check chain-incomplete 0 server-chain-incomplete --ca root-and-inter.crt \
    --connect "127.0.0.1:$nomid" --servername localhost

# Nothing listens.
closed=$(free_port)
check tcp-refused 1 tcp-refused --connect "127.0.0.1:$closed"

# A name that does not resolve (.invalid is reserved: RFC 6761).
check dns 1 dns-failed --connect "no-such-host.invalid:443"

# Plain HTTP on the port.
plain=$(free_port)
python3 -m http.server "$plain" --bind 127.0.0.1 >"$T/http.log" 2>&1 &
track $!
wait_port "$plain"
check not-tls 1 tls-not-tls --connect "127.0.0.1:$plain"
assert_contains "$T/out" "HTTP"

# A listener that accepts and never says anything.
silent=$(free_port)
python3 -c '
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(8)
conns = []
while True:
    c, _ = s.accept(); conns.append(c)
' "$silent" &
track $!
wait_port "$silent"
"$MTLS" doctor --json --timeout 1 --connect "127.0.0.1:$silent" >"$T/out" \
    2>"$T/err"
[ $? -eq 1 ] || { cat "$T/out" "$T/err"; fail "silent: expected exit 1"; }
assert_contains "$T/out" '"tls-timeout"'
ok "silent listener: tls-timeout (exit 1)"

echo "all $NPASS passed"
