#!/bin/sh
# serve and tunnel refuse to start in a state where every handshake can
# only fail, with the finding code and fix that mtls doctor gives for the
# same files, unless --unsafe-start-anyway says to start all the same:
# an expired server certificate, a CA certificate or a clientAuth-only
# certificate as the server's, --ca holding only an intermediate (clients'
# chains lead to the root: every one refused as unknown CA), a --crl
# without the root's CRL (every client refused: CRL missing); tunnel's
# client certificate is checked the same way.
. "$MTLS_TOP/tests/integration/lib.sh"
. "$MTLS_TOP/tests/integration/serve_lib.sh"

command -v faketime >/dev/null 2>&1 || skip "faketime is not installed"
make_pki
faketime -f '-10d' "$MTLS" cert issue --ca pki/ca --server --name localhost \
    --days 1 --out old >/dev/null 2>&1 || skip "mtls does not run under faketime (ASan build?)"
run 0 "$MTLS" cert issue --ca pki/ca --client --name notserver --out clientonly
run 0 "$MTLS" cert issue --ca pki/ca --server --name localhost --out serveronly
run 0 "$MTLS" ca init --dir root --name "Start Root CA"
run 0 "$MTLS" ca init --dir issuing --parent root --name "Start Issuing CA"
run 0 "$MTLS" ca crl --ca issuing --out issuing.crl
cat root/ca.crt issuing/ca.crt >bundle.crt
start_backend echo
P=$(free_port)

# serve_fails CODE ARGS...: serve exits 1 at start, naming CODE, and
# mtls doctor finds CODE in the same files.
serve_fails() {
	code=$1; shift
	run 1 timeout 10 "$MTLS" serve --listen "127.0.0.1:$P" \
	    --backend "127.0.0.1:$BPORT" --allow-any "$@"
	assert_contains "$T/err" "$code"
	assert_contains "$T/err" "fix:"
	assert_contains "$T/err" "--unsafe-start-anyway"
}

serve_fails cert-expired --cert old.crt --key old.key --ca pki/ca/ca.crt
run 1 "$MTLS" doctor --role server --cert old.crt --key old.key
assert_contains "$T/out" cert-expired
ok "an expired server certificate: cert-expired, as doctor says"

serve_fails leaf-is-ca --cert pki/ca/ca.crt --key pki/ca/ca.key --ca pki/ca/ca.crt
ok "a CA certificate as the server's: leaf-is-ca"

serve_fails usage-no-serverauth --cert clientonly.crt --key clientonly.key --ca pki/ca/ca.crt
ok "a clientAuth-only certificate as the server's: usage-no-serverauth"

serve_fails ca-no-root --cert pki/server.crt --key pki/server.key --ca issuing/ca.crt
run 1 "$MTLS" doctor --ca issuing/ca.crt
assert_contains "$T/out" ca-no-root
assert_contains "$T/out" "CN=Start Root CA"
ok "--ca with only an intermediate: ca-no-root, as doctor says"

serve_fails crl-missing-for-root --cert pki/server.crt --key pki/server.key \
    --ca bundle.crt --crl issuing.crl
run 1 "$MTLS" doctor --ca bundle.crt --crl issuing.crl
assert_contains "$T/out" crl-missing-for-root
ok "--crl without the root's CRL: crl-missing-for-root, as doctor says"

mtls_cmd serve --listen "127.0.0.1:$P" --backend "127.0.0.1:$BPORT" --allow-any \
    --cert old.crt --key old.key --ca pki/ca/ca.crt --unsafe-start-anyway \
    2>>"$T/serve.log" &
SPID=$!
track $SPID
wait_port "$P"
assert_contains "$T/serve.log" "cert-expired"
ok "--unsafe-start-anyway starts, with the finding as a warning"

run 1 timeout 10 "$MTLS" tunnel --listen "127.0.0.1:$(free_port)" \
    --connect "127.0.0.1:$P" --cert serveronly.crt --key serveronly.key \
    --ca pki/ca/ca.crt
assert_contains "$T/err" usage-no-clientauth
run 1 timeout 10 "$MTLS" tunnel --listen "127.0.0.1:$(free_port)" \
    --connect "127.0.0.1:$P" --cert old.crt --key old.key --ca pki/ca/ca.crt
assert_contains "$T/err" cert-expired
ok "tunnel: a serverAuth-only or expired client certificate is refused at start"

# A good setup still starts: the server's certificate from another CA than
# the one that verifies clients is normal.
run 0 "$MTLS" cert issue --ca root --server --name localhost --out fromroot
start_serve --allow-any --cert fromroot.crt --key fromroot.key
ok "a server certificate from another CA than --ca starts"
