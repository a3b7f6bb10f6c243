#!/bin/sh
# mtls doctor --connect: real servers set up wrong in one way each
# (openssl s_server without client auth, with another client CA, in TLS 1.2
# and 1.3; a plaintext HTTP server; a silent listener; a closed port; a
# wrong name; an untrusted server CA; a missing intermediate) and set up
# right, each asserting the exact finding code and the exit status.
. "$MTLS_TOP/tests/integration/lib.sh"
DOCTOR_OPTS="--timeout 3"
. "$MTLS_TOP/tests/integration/doctor_cases.sh"
. "$MTLS_TOP/tests/integration/s_server_lib.sh"

two_cas
q "$MTLS" ca init --dir inter --parent pki/ca --name "Doctor Intermediate"
q "$MTLS" cert issue --ca inter --server --name localhost --out mid
# The leaf alone, without the intermediate that follows it in mid.crt.
openssl x509 -in mid.crt -out mid-leaf.crt 2>/dev/null || fail "split mid.crt"
cat pki/ca/ca.crt inter/ca.crt >root-and-inter.crt

CERT="--cert pki/client.crt --key pki/client.key --ca pki/ca/ca.crt"

# shellcheck disable=SC2046
set -- $(free_ports 11)
good=$1 noauth=$2 otherca=$3 other12=$4 nomid=$5 old11=$6 cbc=$7 closed=$8
plain=$9 silent=${10} full=${11}

# (c) fine: asks for a certificate from our CA and accepts ours.
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
s_server "$noauth" -cert pki/server.crt -key pki/server.key
# shellcheck disable=SC2086
check no-client-auth 0 server-no-client-auth $CERT \
    --connect "127.0.0.1:$noauth"

# (b) requires a client certificate from another CA: TLS 1.3 (the alert
# comes after the handshake) and TLS 1.2 (during it).
s_server "$otherca" -cert pki/server.crt -key pki/server.key \
    -Verify 2 -CAfile other/ca.crt -verify_return_error
# shellcheck disable=SC2086
check rejected-tls13 1 client-cert-rejected $CERT \
    --connect "127.0.0.1:$otherca"
assert_contains "$T/out" "client-ca-not-accepted"
assert_contains "$T/out" "Other CA"
assert_contains "$T/out" "with the alert unknown_ca"
s_server "$other12" -tls1_2 -cert pki/server.crt -key pki/server.key \
    -Verify 2 -CAfile other/ca.crt -verify_return_error
# shellcheck disable=SC2086
check rejected-tls12 1 client-cert-rejected $CERT \
    --connect "127.0.0.1:$other12"

# The server sends only its leaf, not the intermediate that issued it.
s_server "$nomid" -cert mid-leaf.crt -key mid.key
check chain-incomplete 0 server-chain-incomplete --ca root-and-inter.crt \
    --connect "127.0.0.1:$nomid" --servername localhost

# Only TLS 1.1 on the server; our client starts at TLS 1.2.
s_server "$old11" -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0' \
    -cert pki/server.crt -key pki/server.key
check tls-version 1 tls-version --connect "127.0.0.1:$old11"

# Only a CBC suite on the server; our client offers AEAD suites only.
s_server "$cbc" -tls1_2 -cipher ECDHE-ECDSA-AES128-SHA \
    -cert pki/server.crt -key pki/server.key
check no-shared-cipher 1 tls-no-shared-cipher --connect "127.0.0.1:$cbc"

# Nothing listens.
check tcp-refused 1 tcp-refused --connect "127.0.0.1:$closed"

# A name that does not resolve (.invalid is reserved: RFC 6761).
check dns 1 dns-failed --connect "no-such-host.invalid:443"

# Plain HTTP on the port.
python3 -m http.server "$plain" --bind 127.0.0.1 >"$T/http.log" 2>&1 &
track $!
wait_port "$plain"
check not-tls 1 tls-not-tls --connect "127.0.0.1:$plain"
assert_contains "$T/out" "HTTP"

# A listener that accepts and never says anything.
socat "TCP-LISTEN:$silent,bind=127.0.0.1,reuseaddr,fork" \
    SYSTEM:"sleep 30" >/dev/null 2>&1 &
track $!
wait_port "$silent"
"$MTLS" doctor --json --timeout 1 --connect "127.0.0.1:$silent" >"$T/out" \
    2>"$T/err"
[ $? -eq 1 ] || { cat "$T/out" "$T/err"; fail "silent: expected exit 1"; }
assert_contains "$T/out" '"tls-timeout"'
ok "silent listener: tls-timeout (exit 1)"

# A listener whose accept queue is full: the SYN is dropped, as by a
# firewall, and the connection times out.
python3 -c '
import socket, sys, time
port = int(sys.argv[1])
s = socket.socket(); s.bind(("127.0.0.1", port)); s.listen(0)
held = []
for _ in range(4):
    c = socket.socket(); c.setblocking(False)
    try:
        c.connect(("127.0.0.1", port))
    except BlockingIOError:
        pass
    held.append(c)
print("ready", flush=True)
time.sleep(60)
' "$full" >"$T/full.out" &
track $!
i=0
while ! grep -q ready "$T/full.out" 2>/dev/null && [ $i -lt 100 ]; do
	sleep 0.1; i=$((i + 1))
done
"$MTLS" doctor --json --timeout 1 --connect "127.0.0.1:$full" >"$T/out" \
    2>"$T/err"
[ $? -eq 1 ] || { cat "$T/out" "$T/err"; fail "full queue: expected exit 1"; }
assert_contains "$T/out" '"tcp-timeout"'
ok "full accept queue: tcp-timeout (exit 1)"

check_codes
echo "all $NPASS passed"
