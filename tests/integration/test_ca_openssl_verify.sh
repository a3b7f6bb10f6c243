#!/bin/sh
# A root and an intermediate CA made by mtls; server and client certificates
# from the intermediate verify with openssl for their own purpose only, and
# carry the extensions a TLS stack expects.
. "$MTLS_TOP/tests/integration/lib.sh"

run 0 "$MTLS" ca init --dir root --name "Test Root"
assert_contains "$T/out" "created root CA"
run 0 "$MTLS" ca init --dir int --name "Test Issuing CA" --parent root
assert_contains "$T/out" "created intermediate CA"
assert_mode root/ca.key 600
assert_mode int/ca.key 600
ok "root and intermediate created"

run 0 "$MTLS" cert issue --ca int --server --name srv.example.com \
    --dns api.example.com --ip 10.0.0.1 --ip ::1 --out srv
assert_contains "$T/out" "issued server certificate serial"
assert_contains "$T/out" "srv.crt, srv.key"
run 0 "$MTLS" cert issue --ca int --client --name alice \
    --uri spiffe://example.org/alice --email alice@example.org --out cli
assert_mode srv.key 600
assert_mode cli.key 600
ok "server and client issued, keys 0600"

# PREFIX.crt is the leaf followed by the intermediate.
n=$(grep -c 'BEGIN CERTIFICATE' srv.crt)
[ "$n" -eq 2 ] || fail "srv.crt holds $n certificates, expected leaf + intermediate"
openssl x509 -in srv.crt -out srv-leaf.pem || fail "cannot split srv.crt"
openssl x509 -in cli.crt -out cli-leaf.pem || fail "cannot split cli.crt"
ok "chain file holds leaf then intermediate"

v() { openssl verify -CAfile root/ca.crt -untrusted int/ca.crt "$@"; }
run 0 v -purpose sslserver srv-leaf.pem
assert_contains "$T/out" "srv-leaf.pem: OK"
run 0 v -purpose sslclient cli-leaf.pem
assert_contains "$T/out" "cli-leaf.pem: OK"
# The whole PREFIX.crt verifies too when its chain is used as untrusted.
run 0 openssl verify -CAfile root/ca.crt -untrusted srv.crt -purpose sslserver srv.crt
ok "openssl verify accepts each for its purpose"

run 2 v -purpose sslclient srv-leaf.pem
grep -q "unsuitable certificate purpose" "$T/err" "$T/out" ||
    fail "server cert used as client: expected 'unsuitable certificate purpose'"
run 2 v -purpose sslserver cli-leaf.pem
grep -q "unsuitable certificate purpose" "$T/err" "$T/out" ||
    fail "client cert used as server: expected 'unsuitable certificate purpose'"
ok "openssl verify refuses each for the other purpose"

openssl x509 -in srv-leaf.pem -noout -text >srv.txt
assert_contains srv.txt "DNS:srv.example.com"
assert_contains srv.txt "DNS:api.example.com"
assert_contains srv.txt "IP Address:10.0.0.1"
assert_contains srv.txt "IP Address:0:0:0:0:0:0:0:1"
assert_contains srv.txt "CA:FALSE"
assert_contains srv.txt "TLS Web Server Authentication"
assert_not_contains srv.txt "TLS Web Client Authentication"
assert_contains srv.txt "Issuer: CN = Test Issuing CA"
openssl x509 -in cli-leaf.pem -noout -text >cli.txt
assert_contains cli.txt "URI:spiffe://example.org/alice"
assert_contains cli.txt "email:alice@example.org"
assert_contains cli.txt "CA:FALSE"
assert_contains cli.txt "TLS Web Client Authentication"
assert_not_contains cli.txt "TLS Web Server Authentication"
ok "leaves carry SANs, CA:FALSE and the right EKU"

openssl x509 -in root/ca.crt -noout -text >root.txt
grep -A1 "X509v3 Basic Constraints: critical" root.txt | grep -q "CA:TRUE" ||
    { cat root.txt; fail "root: no critical CA:TRUE"; }
assert_contains root.txt "Certificate Sign, CRL Sign"
openssl x509 -in int/ca.crt -noout -text >int.txt
grep -A1 "X509v3 Basic Constraints: critical" int.txt | grep -q "CA:TRUE, pathlen:0" ||
    { cat int.txt; fail "intermediate: no critical CA:TRUE, pathlen:0"; }
assert_contains int.txt "Certificate Sign, CRL Sign"
assert_contains int.txt "Issuer: CN = Test Root"
ok "root is CA:TRUE critical with keyCertSign/cRLSign; intermediate pathlen:0"

# The intermediate cannot make a CA of its own (pathlen 0).
# Either mtls refuses to make it, or openssl refuses to accept it.
if "$MTLS" ca init --dir sub --parent int >sub.out 2>sub.err; then
	run 2 openssl verify -CAfile root/ca.crt -untrusted int/ca.crt sub/ca.crt
else
	[ "$(wc -l <sub.err)" -eq 1 ] || fail "expected one line: $(cat sub.err)"
	assert_no_file sub/ca.crt
	assert_no_file sub/ca.key
fi
ok "pathlen:0 stops a CA under the intermediate"

run 0 "$MTLS" cert list --ca int
assert_contains "$T/out" "SERIAL"
assert_contains "$T/out" "srv.example.com"
assert_contains "$T/out" "server"
assert_contains "$T/out" "client"
assert_contains "$T/out" "valid"
ok "cert list shows both"

run 0 "$MTLS" cert list --ca int --json
python3 - "$T/out" <<'PY' || fail "cert list --json is wrong"
import json, sys
rows = json.load(open(sys.argv[1]))
by = {r["subject"]: r for r in rows}
srv, cli = by["CN=srv.example.com"], by["CN=alice"]
assert srv["type"] == "server" and cli["type"] == "client", rows
pairs = lambda r: {(s["type"], s["value"]) for s in r["sans"]}
assert {("DNS", "srv.example.com"), ("DNS", "api.example.com"), ("IP", "10.0.0.1")} <= pairs(srv), srv
assert ("URI", "spiffe://example.org/alice") in pairs(cli), cli
assert srv["not_after"].endswith("Z") and "T" in srv["not_after"], srv
assert srv["status"] == "valid" and srv["revoked_at"] is None
assert srv["not_after"] > srv["not_before"]
PY
ok "cert list --json: types, SAN arrays, status"
