#!/bin/sh
# Interfaces a new user tries: -h on every command (bench refused it),
# "mtls help CMD" printing that command's help, and connect's JSON
# http_status as a number (it was the string "HTTP/1.1 400 Bad Request");
# cert list shows the days to expiry.
. "$MTLS_TOP/tests/integration/lib.sh"
. "$MTLS_TOP/tests/integration/nginx_lib.sh"

for c in init "ca init" "ca crl" "ca import" "csr new" "cert issue" \
    "cert sign" "cert revoke" "cert list" "cert inspect" "cert verify" \
    "cert export" serve tunnel connect doctor bench demo; do
	# shellcheck disable=SC2086
	run 0 "$MTLS" $c -h
	assert_contains "$T/out" "usage:"
done
ok "-h prints the usage of every command"

run 0 "$MTLS" help serve
assert_contains "$T/out" "usage: mtls serve"
run 0 "$MTLS" help cert issue
assert_contains "$T/out" "usage: mtls cert issue"
ok "mtls help CMD [SUB] prints that command's help"

run 0 "$MTLS" init --dir pki
run 0 "$MTLS" cert issue --ca pki/ca --client --name ten --days 10 --out ten
run 0 "$MTLS" cert list --ca pki/ca
assert_contains "$T/out" "DAYS"
grep "CN=ten" "$T/out" | grep -Eq ' (9|10) +valid' || fail "cert list: no days left for CN=ten: $(cat "$T/out")"
run 0 "$MTLS" cert list --ca pki/ca --json
python3 -c 'import json,sys; r=[c for c in json.load(open(sys.argv[1])) if c["subject"]=="CN=ten"][0]; assert r["days_left"] in (9, 10), r' "$T/out" ||
    fail "cert list --json: days_left"
ok "cert list: days to expiry, in the table and the JSON"

nginx_require
nginx_start ngx pki/ca/ca.crt
run 0 "$MTLS" connect "localhost:$port" --ca pki/ca/ca.crt \
    --cert pki/client.crt --key pki/client.key --json
python3 -c 'import json,sys; c=json.load(open(sys.argv[1]))["client_certificate"]; assert c["http_status"] == 200 and isinstance(c["http_status"], int), c' "$T/out" ||
    fail "http_status is not the number 200: $(cat "$T/out")"
ok "connect --json: http_status is a number"
