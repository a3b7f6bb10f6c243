#!/bin/sh
# Each kind of client that must not get in is refused during the handshake
# with the right TLS alert, as openssl s_client, gnutls-cli, curl and
# python3 requests report it, the proxy logs the reason in words, and the
# backend never sees a connection: no certificate, another CA's
# certificate, an expired and a not-yet-valid certificate, a revoked one,
# a server certificate used as a client certificate, and a certificate from
# the right CA that no rule allows (handshake_failure: see below).
. "$MTLS_TOP/tests/integration/lib.sh"
. "$MTLS_TOP/tests/integration/serve_lib.sh"

command -v faketime >/dev/null || skip "faketime is not installed"
make_pki
run 0 faketime -f '-100d' "$MTLS" cert issue --ca pki/ca --client --name client --days 1 --out expired
run 0 faketime -f '+10d' "$MTLS" cert issue --ca pki/ca --client --name client --days 30 --out future
run 0 "$MTLS" cert issue --ca pki/ca --client --name client --out revoked
run 0 "$MTLS" cert revoke --ca pki/ca --cert revoked.crt
run 0 "$MTLS" ca crl --ca pki/ca --out crl.pem
run 0 "$MTLS" cert issue --ca pki/ca --client --name mallory --out mallory

start_backend echo
start_serve --allow-cn client --crl crl.pem

# case: cert-prefix, s_client's words, gnutls-cli's words, the log's words
check() {
	name=$1 pfx=$2 sc=$3 gc=$4 why=$5
	s_client "$pfx"
	assert_contains "$T/sc.out" "$sc"
	assert_not_contains "$T/sc.out" "ping"
	gnutls "$pfx"
	assert_contains "$T/gc.out" "$gc"
	if [ "$pfx" = - ]; then certargs=""; else certargs="--cert $pfx.crt --key $pfx.key"; fi
	# shellcheck disable=SC2086
	timeout 10 curl -sS --cacert pki/ca/ca.crt $certargs \
	    "https://localhost:$PORT/" >"$T/curl.out" 2>&1
	assert_contains "$T/curl.out" "$sc"
	cat >"$T/req.py" <<PY
import requests, sys
cert = None if "$pfx" == "-" else ("$pfx.crt", "$pfx.key")
try:
    requests.get("https://localhost:$PORT/", cert=cert, verify="pki/ca/ca.crt", timeout=10)
except requests.exceptions.SSLError as e:
    print("refused:", e)
    sys.exit(0)
print("got through")
sys.exit(1)
PY
	run 0 python3 "$T/req.py"
	assert_contains "$T/out" "$sc"
	wait_log "$why" 4
	backend_saw_nothing "$name"
	ok "$name: refused with '$sc' (s_client, curl, requests), '$gc' (gnutls-cli); logged '$why'"
}

check "no certificate" - "alert certificate required" "Certificate is required" "no client certificate"
check "another CA" other-client "alert unknown ca" "CA is unknown" "unknown CA"
check "expired" expired "alert certificate expired" "Certificate is expired" "certificate expired"
check "not yet valid" future "alert bad certificate" "Certificate is bad" "not yet valid"
check "revoked" revoked "alert certificate revoked" "Certificate was revoked" "revoked"
check "server certificate as client" pki/server "alert unsupported certificate" "Certificate is not supported" "not valid for client authentication"
# OpenSSL 3.0 offers no way to send access_denied from certificate
# verification, so a full handshake refused by the rules ends with
# handshake_failure (a resumed one gets access_denied, see
# test_serve_reload_revoke); the reason is in the log.
check "allowed CA, unlisted name" mallory "alert handshake failure" "Handshake failed" "no rule allows CN=mallory"

# And the valid client still gets through.
s_client pki/client
assert_contains "$T/sc.out" "ping"
ok "the allowed client still gets through"
