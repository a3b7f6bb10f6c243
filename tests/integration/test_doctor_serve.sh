#!/bin/sh
# mtls doctor --connect against mtls serve: a client it accepts, one that no
# rule allows, one from a CA it does not trust, a revoked one, and none at
# all; each asserts the exact finding code and the exit status.
. "$MTLS_TOP/tests/integration/lib.sh"

q() { "$@" >/dev/null 2>"$T/setup.err" || { cat "$T/setup.err"; fail "setup: $*"; }; }
q "$MTLS" init --dir pki
q "$MTLS" ca init --dir other --name "Other CA"
q "$MTLS" cert issue --ca pki/ca --client --name mallory --out mallory
q "$MTLS" cert issue --ca pki/ca --client --name revoked --out revoked
q "$MTLS" cert issue --ca other --client --name client --out stranger
q "$MTLS" cert revoke --ca pki/ca --cert revoked.crt
q "$MTLS" ca crl --ca pki/ca --out ca.crl

backend=$(free_port)
python3 -m http.server "$backend" --bind 127.0.0.1 >"$T/backend.log" 2>&1 &
track $!
port=$(free_port)
"$MTLS" serve --listen "127.0.0.1:$port" --cert pki/server.crt \
    --key pki/server.key --ca pki/ca/ca.crt --crl ca.crl \
    --backend "127.0.0.1:$backend" --allow-cn client --allow-cn revoked \
    >"$T/serve.log" 2>&1 &
track $!
wait_port "$backend"
wait_port "$port"

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

check serve-healthy 0 ok-client-cert-accepted --cert pki/client.crt \
    --key pki/client.key --ca pki/ca/ca.crt --connect "127.0.0.1:$port"
assert_not_contains "$T/out" '"severity": "error"'
check serve-no-rule 1 client-cert-rejected --cert mallory.crt \
    --key mallory.key --ca pki/ca/ca.crt --connect "127.0.0.1:$port"
check serve-no-cert 1 client-cert-missing --ca pki/ca/ca.crt \
    --connect "127.0.0.1:$port"
# Our certificate is from a CA the server does not trust: the server's
# side must change (or we need a certificate from its CA).
check serve-other-ca 1 client-cert-rejected --cert stranger.crt \
    --key stranger.key --ca pki/ca/ca.crt --connect "127.0.0.1:$port"
assert_contains "$T/out" "client-ca-not-accepted"
assert_contains "$T/out" "Other CA"
# Revoked: the local check names it from the CRL, the server refuses it.
check serve-revoked 1 cert-revoked --cert revoked.crt --key revoked.key \
    --ca pki/ca/ca.crt --crl ca.crl --connect "127.0.0.1:$port"
assert_contains "$T/out" "client-cert-rejected"

echo "all $NPASS passed"
