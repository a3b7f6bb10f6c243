#!/bin/sh
# mtls ca serve publishes its CRL at /crl and remakes it when a revocation
# is recorded; serve --crl-from fetches it into --crl and reloads, so a
# revoked client is refused without anyone copying files.
. "$MTLS_TOP/tests/integration/lib.sh"
. "$MTLS_TOP/tests/integration/est_lib.sh"

est_ca
run 0 "$MTLS" cert issue --ca ca --client --name alice --out alice
run 0 "$MTLS" ca crl --ca ca --out crl.pem
est_start

BPORT=$(free_port)
python3 "$MTLS_TOP/tests/integration/backend.py" echo "$BPORT" backend.log &
track $!
wait_port "$BPORT"
PORT=$(free_port)

# hello: "hi" when alice gets through to the echo backend.
hello() {
	python3 - "$PORT" <<'PY' 2>/dev/null
import socket, ssl, sys
ctx = ssl.create_default_context(cafile="ca/ca.crt")
ctx.load_cert_chain("alice.crt", "alice.key")
try:
    s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5),
                        server_hostname="localhost")
    s.sendall(b"hi")
    print(s.recv(2).decode())
except (OSError, ssl.SSLError):
    print("refused")
PY
}

mtls_cmd serve --listen "127.0.0.1:$PORT" --cert srv.crt --key srv.key \
    --ca ca/ca.crt --backend "127.0.0.1:$BPORT" --allow-cn alice \
    --crl crl.pem --crl-from "$EST_URL/crl" 2>serve.log &
track $!
wait_port "$PORT"
[ "$(hello)" = "hi" ] || { cat serve.log; fail "alice is not served before her revocation"; }
ok "serve --crl-from: alice is served"

n0=$(openssl crl -in crl.pem -noout -crlnumber)
run 0 "$MTLS" cert revoke --ca ca --cert alice.crt --reason keyCompromise
i=0
while [ $i -lt 90 ] && [ "$(hello)" = "hi" ]; do sleep 1; i=$((i + 1)); done
[ "$(hello)" = "hi" ] && { cat serve.log; fail "alice is still served 90 s after her revocation"; }
assert_contains serve.log "CRL fetched from $EST_URL/crl"
assert_contains serve.log "certificate revoked"
[ "$(openssl crl -in crl.pem -noout -crlnumber)" != "$n0" ] || fail "crl.pem was not replaced"
openssl crl -in crl.pem -noout -text | grep -q "$(openssl x509 -in alice.crt -noout -serial | cut -d= -f2)" ||
    fail "the fetched CRL does not list alice"
assert_contains "$T/ca.log" "CRL remade"
ok "revoked at the CA: the CRL remade, fetched into --crl, alice refused (after ${i}s)"
