#!/bin/sh
# Access rules match SANs by type: --allow-dns client.example.com is not
# satisfied by a URI SAN holding the same text, but is by the DNS SAN; URI
# wildcards and fingerprints work; the refused client never reaches the
# backend.
. "$MTLS_TOP/tests/integration/lib.sh"
. "$MTLS_TOP/tests/integration/serve_lib.sh"

make_pki
# The CLI insists on absolute URIs; openssl makes the look-alike.
cat >ext.cnf <<'CNF'
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth
subjectAltName=URI:client.example.com
CNF
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout uri.key -subj /CN=uri-only -out uri.csr 2>/dev/null || fail "openssl req"
openssl x509 -req -in uri.csr -CA pki/ca/ca.crt -CAkey pki/ca/ca.key \
    -CAcreateserial -days 30 -extfile ext.cnf -out uri.crt 2>/dev/null || fail "openssl x509"
run 0 "$MTLS" cert issue --ca pki/ca --client --name dns-one --dns client.example.com --out dns
run 0 "$MTLS" cert issue --ca pki/ca --client --name svc --uri spiffe://example.org/ns/prod/sa/web --out spiffe
start_backend echo
start_serve --allow-dns client.example.com --allow-uri 'spiffe://example.org/ns/*/sa/web'

s_client uri
assert_not_contains "$T/sc.out" "ping"
wait_log "no rule allows"
backend_saw_nothing "URI SAN with the DNS rule's text"
ok "a DNS rule is not satisfied by a URI SAN with the same text"

s_client dns
assert_contains "$T/sc.out" "ping"
ok "the DNS SAN satisfies the DNS rule"
s_client spiffe
assert_contains "$T/sc.out" "ping"
ok "a URI rule with * matches one path segment"
s_client pki/client
assert_not_contains "$T/sc.out" "ping"
ok "CN=client without a matching SAN is refused"

fp=$("$MTLS" cert inspect --json pki/client.crt | python3 -c 'import json,sys; d=json.load(sys.stdin); c=d[0] if isinstance(d,list) else d; c=c.get("certificates",[c])[0] if isinstance(c,dict) else c; print(c.get("fingerprint_sha256") or c.get("fingerprint"))' 2>/dev/null)
if [ -z "$fp" ] || [ "$fp" = None ]; then
	fp=$(openssl x509 -in pki/client.crt -noout -fingerprint -sha256 | sed 's/.*=//')
fi
kill "$SPID"; wait "$SPID" 2>/dev/null
start_serve --allow-fingerprint "sha256:$fp"
s_client pki/client
assert_contains "$T/sc.out" "ping"
s_client dns
assert_not_contains "$T/sc.out" "ping"
ok "--allow-fingerprint allows exactly that certificate"
