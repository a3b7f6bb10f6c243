#!/bin/sh
# Revocation fails closed: with --crl, a client whose intermediate CA has no
# CRL in the file is refused, and so is every client when the CRL has
# expired; the backend sees none of them.  With both CRLs fresh, the same
# client gets through (so the refusals are about the CRLs).
. "$MTLS_TOP/tests/integration/lib.sh"
. "$MTLS_TOP/tests/integration/serve_lib.sh"

command -v faketime >/dev/null || skip "faketime is not installed"
make_pki
run 0 "$MTLS" ca init --dir inter --parent pki/ca --name "Issuing CA"
run 0 "$MTLS" cert issue --ca inter --client --name client --out ic
run 0 "$MTLS" ca crl --ca pki/ca --out root.crl
run 0 "$MTLS" ca crl --ca inter --out inter.crl
cat root.crl inter.crl >both.crl
run 0 faketime -f '-10d' "$MTLS" ca crl --ca pki/ca --days 1 --out root-expired.crl
cat root-expired.crl inter.crl >expired.crl
start_backend echo

serve_with() {
	[ -n "${SPID:-}" ] && kill "$SPID" 2>/dev/null && wait "$SPID" 2>/dev/null
	: >"$T/serve.log"
	start_serve --allow-cn client --crl "$@"
}

serve_with root.crl
s_client ic -cert_chain ic.crt
assert_contains "$T/sc.out" "alert unknown ca"
wait_log "CRL"
assert_contains "$T/serve.log" "missing"
backend_saw_nothing "no CRL for the intermediate"
ok "a client under an intermediate without a CRL is refused (fail closed)"

serve_with both.crl
s_client ic -cert_chain ic.crt
assert_contains "$T/sc.out" "ping"
s_client pki/client
assert_contains "$T/sc.out" "ping"
ok "with both CRLs the same clients get through"
: >"$T/backend.log"

# An expired CRL at start is refused (crl-expired); a CRL that expires
# while serve runs is what --unsafe-start-anyway stands for here.
run 1 timeout 10 "$MTLS" serve --listen "127.0.0.1:$(free_port)" --cert pki/server.crt \
    --key pki/server.key --ca pki/ca/ca.crt --backend "127.0.0.1:$BPORT" \
    --allow-cn client --crl expired.crl
assert_contains "$T/err" "crl-expired"
serve_with expired.crl --unsafe-start-anyway
s_client pki/client
assert_not_contains "$T/sc.out" "ping"
assert_contains "$T/sc.out" "alert"
gnutls pki/client
assert_contains "$T/gc.out" "alert"
wait_log "CRL" 2
assert_contains "$T/serve.log" "expired"
backend_saw_nothing "expired CRL"
ok "an expired CRL refuses every client (fail closed)"
