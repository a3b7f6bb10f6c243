#!/bin/sh
# "mtls connect --trace": every handshake message in order, for TLS 1.2 and
# TLS 1.3, against openssl s_server requiring a client certificate.
. "$MTLS_TOP/tests/integration/lib.sh"
. "$MTLS_TOP/tests/integration/s_server_lib.sh"

run 0 "$MTLS" init --dir pki
port=$(free_port)
s_server_mtls "$port"

# The message names of the trace, one per line, as "-> Name" / "<- Name".
names() { sed -n 's/^  \(->\|<-\) \([A-Za-z]*\).*/\1 \2/p' "$T/out"; }

run 0 "$MTLS" connect "localhost:$port" --cert pki/client.crt \
    --key pki/client.key --ca pki/ca/ca.crt --tls-max 1.2 --trace
names >got12
cat >want12 <<'E'
-> ClientHello
<- ServerHello
<- Certificate
<- ServerKeyExchange
<- CertificateRequest
<- ServerHelloDone
-> Certificate
-> ClientKeyExchange
-> CertificateVerify
-> ChangeCipherSpec
-> Finished
<- ChangeCipherSpec
<- Finished
E
diff want12 got12 || fail "TLS 1.2 trace order differs"
assert_contains "$T/out" "<- CertificateRequest: the server asks for a client certificate; CA names: CN=mtls Root CA"
assert_contains "$T/out" "<- ServerKeyExchange: ECDHE group X25519, signed with ecdsa_secp256r1_sha256"
assert_contains "$T/out" "-> Certificate: CN=client (issuer CN=$(ca_cn pki/ca/ca.crt))"
assert_contains "$T/out" "<- ServerHello: TLS 1.2, TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"
ok "TLS 1.2 trace: all 13 messages in order, with their facts"

run 0 "$MTLS" connect "localhost:$port" --cert pki/client.crt \
    --key pki/client.key --ca pki/ca/ca.crt --trace
names | grep -v NewSessionTicket >got13
cat >want13 <<'E'
-> ClientHello
<- ServerHello
<- EncryptedExtensions
<- CertificateRequest
<- Certificate
<- CertificateVerify
<- Finished
-> Certificate
-> CertificateVerify
-> Finished
E
head -n 10 got13 | diff want13 - || fail "TLS 1.3 trace order differs"
assert_contains "$T/out" "-> ClientHello: offers TLS 1.3, TLS 1.2;"
assert_contains "$T/out" "key share X25519; SNI localhost"
assert_contains "$T/out" "<- ServerHello: TLS 1.3, TLS_AES_"
assert_contains "$T/out" "<- Certificate: CN=localhost (issuer CN=$(ca_cn pki/ca/ca.crt))"
assert_contains "$T/out" "-> CertificateVerify: proves the key with ecdsa_secp256r1_sha256"
ok "TLS 1.3 trace: the ten handshake messages in order, with their facts"

run 1 "$MTLS" connect "localhost:$port" --ca pki/ca/ca.crt --trace
assert_contains "$T/out" "-> Certificate: empty (no certificate)"
assert_contains "$T/out" "<- Alert from the server: fatal certificate_required"
ok "a refusal shows the empty Certificate and the server's alert"
