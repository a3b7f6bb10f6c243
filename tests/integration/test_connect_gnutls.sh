#!/bin/sh
# "mtls connect" against gnutls-serv requiring a client certificate: another
# TLS stack accepts our certificate, and refuses a missing one.
. "$MTLS_TOP/tests/integration/lib.sh"

command -v gnutls-serv >/dev/null 2>&1 || skip "gnutls-serv is not installed"
run 0 "$MTLS" init --dir pki
port=$(free_port)
gnutls-serv --port "$port" --x509certfile pki/server.crt \
    --x509keyfile pki/server.key --x509cafile pki/ca/ca.crt \
    --require-client-cert --echo </dev/null >gserv.log 2>&1 &
track $!
wait_port "$port"

run 0 "$MTLS" connect "localhost:$port" --cert pki/client.crt \
    --key pki/client.key --ca pki/ca/ca.crt
assert_contains "$T/out" "TLS: handshake complete"
assert_contains "$T/out" "the server accepted it"
ok "gnutls-serv: good client accepted"

run 1 "$MTLS" connect "localhost:$port" --ca pki/ca/ca.crt
assert_contains "$T/out" "we sent none"
assert_contains "$T/out" "Result: mutual TLS FAILED"
ok "gnutls-serv: no client certificate refused"
