#!/bin/sh
# mtls doctor names the real cause, and a fix that works, where it used to
# point the wrong way:
#  - a self-signed leaf made with openssl req -x509 (keyUsage without
#    keyCertSign): leaf-self-signed, not chain-missing-intermediate;
#  - a CA certificate given as the client certificate: leaf-is-ca, not a
#    digitalSignature usage finding;
#  - a CA with the same name as the trusted one: ca-name-clash;
#  - a name mismatch for an IP address: the fix says --ip;
#  - a key that does not match: not also "none was given";
#  - a server that sends its leaf without the intermediate: the fix is on
#    the server (server-chain-missing);
#  - nginx refusing an intermediate-issued client for ssl_verify_depth:
#    the fix mentions the depth.
. "$MTLS_TOP/tests/integration/lib.sh"

run 0 "$MTLS" init --dir pki
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout ss.key -out ss.crt -subj /CN=localhost -days 30 \
    -addext keyUsage=digitalSignature -addext basicConstraints=CA:FALSE \
    -addext extendedKeyUsage=clientAuth >/dev/null 2>&1 || fail "openssl req -x509"
run 1 "$MTLS" doctor --role client --cert ss.crt --key ss.key --ca pki/ca/ca.crt
assert_contains "$T/out" "leaf-self-signed"
assert_not_contains "$T/out" "chain-missing-intermediate"
ok "a self-signed leaf (openssl req -x509): leaf-self-signed"

run 1 "$MTLS" doctor --role client --cert pki/ca/ca.crt --key pki/ca/ca.key --ca pki/ca/ca.crt
assert_contains "$T/out" "ERROR leaf-is-ca"
assert_contains "$T/out" "Use a certificate this CA issued"
assert_not_contains "$T/out" "usage-no-digitalsignature"
assert_not_contains "$T/out" "leaf-self-signed"
ok "a CA certificate as the client certificate: leaf-is-ca"

# A client certificate from another CA that has the same name as the
# trusted one (given here: mtls init names each root uniquely).
mkdir twin
run 0 "$MTLS" ca init --dir twin/ca --name "$(ca_cn pki/ca/ca.crt)"
run 0 "$MTLS" cert issue --ca twin/ca --client --name client --out twin/client
run 1 "$MTLS" doctor --role client --cert twin/client.crt --key twin/client.key --ca pki/ca/ca.crt
assert_contains "$T/out" "ca-name-clash"
assert_contains "$T/out" "two different CAs"
assert_not_contains "$T/out" "is in none of the files given"
ok "a CA of the same name with another key: ca-name-clash, not a missing issuer"

# An IP address the server certificate lacks: the fix is an IP SAN, not a
# DNS one (the library's words), and the command line adds mtls's option.
run 0 "$MTLS" cert issue --ca pki/ca --server --name localhost --dns localhost --out hostonly
run 1 "$MTLS" doctor --role server --cert hostonly.crt --key hostonly.key --name 127.0.0.2
assert_contains "$T/out" "name-not-in-san"
assert_contains "$T/out" "with the SAN IP:127.0.0.2"
assert_not_contains "$T/out" "DNS:127.0.0.2"
assert_contains "$T/out" "mtls cert issue --dns NAME, or --ip ADDRESS"
ok "a name mismatch for an IP address: the fix says an IP SAN, with --ip"

# The server below presents these; our key does not match our cert.
run 0 "$MTLS" ca init --dir issuing --parent pki/ca --name "Diag Issuing CA"
run 0 "$MTLS" cert issue --ca issuing --server --name localhost --ip 127.0.0.1 --out leafsrv
# The leaf alone, without its intermediate.
openssl x509 -in leafsrv.crt -out leafonly.crt
PORT=$(free_port)
openssl s_server -accept "127.0.0.1:$PORT" -cert leafonly.crt -key leafsrv.key \
    -CAfile pki/ca/ca.crt -Verify 1 -verify_return_error -quiet >/dev/null 2>&1 &
track $!
wait_port "$PORT"
run 1 "$MTLS" doctor --connect "127.0.0.1:$PORT" --ca pki/ca/ca.crt \
    --cert pki/client.crt --key pki/ca/ca.key
assert_contains "$T/out" "key-mismatch"
assert_not_contains "$T/out" "none was given"
assert_contains "$T/out" "client-cert-unusable"
ok "a key that does not match: key-mismatch, and not 'none was given'"

run 1 "$MTLS" doctor --connect "127.0.0.1:$PORT" --ca pki/ca/ca.crt \
    --cert pki/client.crt --key pki/client.key
assert_contains "$T/out" "server-chain-missing"
assert_contains "$T/out" "On the server"
assert_not_contains "$T/out" "Give the client the CA"
ok "a server that sends its leaf without the intermediate: the fix is on the server"

if command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ]; then
	. "$MTLS_TOP/tests/integration/nginx_lib.sh"
	nginx_require
	run 0 "$MTLS" cert issue --ca issuing --client --name deep --out deep
	NGINX_VERIFY_DEPTH=0 nginx_start ngx pki/ca/ca.crt
	run 1 "$MTLS" doctor --connect "localhost:$port" --ca pki/ca/ca.crt \
	    --cert deep.crt --key deep.key
	assert_contains "$T/out" "http-client-cert-refused"
	assert_contains "$T/out" "ssl_verify_depth"
	ok "nginx refusing an intermediate-issued client: the fix mentions ssl_verify_depth"
fi
