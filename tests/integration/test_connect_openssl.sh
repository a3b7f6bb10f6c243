#!/bin/sh
# "mtls connect" against openssl s_server requiring a client certificate
# (-Verify 1 -verify_return_error): a good client, no client certificate, a
# server name that does not match, an untrusted server CA, and a client
# certificate the server does not trust.
. "$MTLS_TOP/tests/integration/lib.sh"
. "$MTLS_TOP/tests/integration/s_server_lib.sh"

run 0 "$MTLS" init --dir pki
run 0 "$MTLS" init --dir other
port=$(free_port)
s_server_mtls "$port"

run 0 "$MTLS" connect "localhost:$port" --cert pki/client.crt \
    --key pki/client.key --ca pki/ca/ca.crt
assert_contains "$T/out" "TCP: connected to 127.0.0.1:$port"
assert_contains "$T/out" "TLS: handshake complete: TLSv1.3, TLS_AES_"
assert_contains "$T/out" "key exchange X25519"
assert_contains "$T/out" "0 subject  CN=localhost"
assert_contains "$T/out" "names    DNS:localhost, IP:127.0.0.1"
assert_contains "$T/out" "Server certificate: verified"
assert_contains "$T/out" "the server asked for one, from this CA:"
assert_contains "$T/out" "CN=mtls Root CA"
assert_contains "$T/out" "the server accepted it"
assert_contains "$T/out" "Result: mutual TLS OK"
ok "good client: exit 0, version, cipher, group, server subject"

run 0 "$MTLS" connect "127.0.0.1:$port" --cert pki/client.crt \
    --key pki/client.key --ca pki/ca/ca.crt --tls-max 1.2
assert_contains "$T/out" "TLSv1.2, TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"
assert_contains "$T/out" "name 127.0.0.1 matches"
ok "TLS 1.2 and an IP address as the name"

run 1 "$MTLS" connect "localhost:$port" --ca pki/ca/ca.crt
assert_contains "$T/out" "the server asked for one"
assert_contains "$T/out" "we sent none (give --cert and --key)"
assert_contains "$T/out" "the server rejected the connection: certificate_required alert"
assert_one_line_error "localhost:$port: the server rejected the connection: certificate_required alert"
assert_contains "$T/out" "Result: mutual TLS FAILED"
ok "no client certificate (TLS 1.3): refused with certificate_required"

run 1 "$MTLS" connect "localhost:$port" --ca pki/ca/ca.crt --tls-max 1.2
assert_contains "$T/out" "we sent none"
assert_contains "$T/out" "handshake_failure"
ok "no client certificate (TLS 1.2): refused with handshake_failure"

run 1 "$MTLS" connect "127.0.0.1:$port" --servername wrong.example.com \
    --cert pki/client.crt --key pki/client.key --ca pki/ca/ca.crt
assert_contains "$T/out" "does not match the name wrong.example.com"
assert_one_line_error "127.0.0.1:$port: server certificate does not match the name wrong.example.com"
assert_contains "$T/out" "DNS:localhost"
assert_contains "$T/out" "Result: mutual TLS FAILED"
ok "server name mismatch: exit 1, says which names the certificate holds"

run 1 "$MTLS" connect "localhost:$port" --cert pki/client.crt \
    --key pki/client.key --ca other/ca/ca.crt
assert_contains "$T/out" "Server certificate: NOT accepted: unknown CA"
assert_contains "$T/out" "CN=$(ca_cn pki/ca/ca.crt) is not trusted"
ok "untrusted server CA: exit 1, unknown CA"

run 1 "$MTLS" connect "localhost:$port" --cert other/client.crt \
    --key other/client.key --ca pki/ca/ca.crt
assert_contains "$T/out" "ours was sent"
assert_contains "$T/out" "the server rejected our certificate: unknown_ca alert"
ok "client certificate from another CA: the server's unknown_ca is reported"

if command -v faketime >/dev/null 2>&1; then
	# Signed by openssl under faketime (an ASan build of mtls does not
	# run under faketime's LD_PRELOAD).
	printf '%s\n' 'basicConstraints=critical,CA:FALSE' \
	    'keyUsage=critical,digitalSignature' \
	    'extendedKeyUsage=clientAuth' 'subjectKeyIdentifier=hash' \
	    'authorityKeyIdentifier=keyid' >old.ext
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -keyout old.key -subj /CN=old -out old.csr 2>/dev/null &&
	faketime -f '-10d' openssl x509 -req -in old.csr -CA pki/ca/ca.crt \
	    -CAkey pki/ca/ca.key -CAcreateserial -days 1 -extfile old.ext \
	    -out old.crt 2>/dev/null || fail "cannot make old.crt"
	run 1 "$MTLS" connect "localhost:$port" --cert old.crt --key old.key \
	    --ca pki/ca/ca.crt
	assert_contains "$T/out" "ours was sent (old.crt: CN=old, issued by CN=$(ca_cn pki/ca/ca.crt), EXPIRED"
	assert_contains "$T/out" "the server rejected our certificate: certificate_expired alert"
	ok "expired client certificate: the server's certificate_expired is reported"
fi

run 0 "$MTLS" connect "localhost:$port" --cert pki/client.crt \
    --key pki/client.key --ca pki/ca/ca.crt --json
python3 - "$T/out" "CN=$(ca_cn pki/ca/ca.crt)" <<'PY' || fail "--json output is not what was expected"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["ok"] is True
assert d["tls"]["version"] == "TLSv1.3"
assert d["server"]["verified"] is True
assert d["server"]["chain"][0]["subject"] == "CN=localhost"
assert d["client_certificate"]["requested"] and d["client_certificate"]["sent"]
assert d["client_certificate"]["ca_names"] == [sys.argv[2]]
PY
ok "--json: one object with the same facts"

run 1 "$MTLS" connect "localhost:$port" --cert other/client.crt \
    --key other/client.key --ca pki/ca/ca.crt --json
python3 - "$T/out" <<'PY' || fail "--json output for a refusal"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["ok"] is False
assert d["client_certificate"]["rejected_with_alert"] == "unknown_ca"
PY
ok "--json: a refusal"

port2=$(free_port)
run 1 "$MTLS" connect "127.0.0.1:$port2" --ca pki/ca/ca.crt
assert_contains "$T/out" "TCP: cannot connect to 127.0.0.1:$port2: Connection refused"
assert_one_line_error "mtls: 127.0.0.1:$port2: cannot connect to 127.0.0.1:$port2: Connection refused"
ok "nothing listening: TCP failure in words"

run 1 "$MTLS" connect "no-such-host.invalid:443" --ca pki/ca/ca.crt
assert_contains "$T/out" "TCP: cannot resolve no-such-host.invalid"
assert_one_line_error "no-such-host.invalid:443: cannot resolve no-such-host.invalid"
ok "an unknown host name: said in words"
