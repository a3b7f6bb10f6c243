#!/bin/sh
# Errors name the files: a key that is not the certificate's names both
# (serve, connect, tunnel, as cert export does); an unparsable certificate
# is said the same way everywhere (inspect, verify, connect, serve, sign);
# --ca is a file for TLS commands and a directory for CA commands, and the
# wrong kind says which is expected with the path that would work; a CA
# made elsewhere (ca.crt + ca.key, no ca.db) points to mtls ca import.
. "$MTLS_TOP/tests/integration/lib.sh"

run 0 "$MTLS" init --dir pki
P=$(free_port)
B=$(free_port)

run 1 "$MTLS" cert export --cert pki/client.crt --key pki/server.key --out x.p12
assert_one_line_error "pki/server.key: not the key of pki/client.crt"
run 1 timeout 10 "$MTLS" serve --listen "127.0.0.1:$P" --cert pki/server.crt \
    --key pki/client.key --ca pki/ca/ca.crt --backend "127.0.0.1:$B" --allow-any
assert_one_line_error "pki/client.key: not the key of pki/server.crt"
run 1 "$MTLS" connect "localhost:$P" --cert pki/client.crt --key pki/server.key --ca pki/ca/ca.crt
assert_one_line_error "pki/server.key: not the key of pki/client.crt"
run 1 timeout 10 "$MTLS" tunnel --listen "127.0.0.1:$P" --connect "localhost:$B" \
    --cert pki/client.crt --key pki/server.key --ca pki/ca/ca.crt
assert_one_line_error "pki/server.key: not the key of pki/client.crt"
ok "a key that is not the certificate's: both files named (export, serve, connect, tunnel)"

echo "garbage" >bad.crt
WORDS="bad.crt: not a certificate (neither PEM nor DER)"
run 1 "$MTLS" cert verify --ca pki/ca/ca.crt bad.crt
assert_one_line_error "$WORDS"
run 1 "$MTLS" connect "localhost:$P" --cert bad.crt --key pki/client.key --ca pki/ca/ca.crt
assert_one_line_error "$WORDS"
run 1 timeout 10 "$MTLS" serve --listen "127.0.0.1:$P" --cert bad.crt \
    --key pki/server.key --ca pki/ca/ca.crt --backend "127.0.0.1:$B" --allow-any
assert_one_line_error "$WORDS"
run 1 "$MTLS" cert inspect bad.crt
assert_one_line_error "bad.crt: not a certificate, CSR or CRL (neither PEM nor DER)"
run 1 "$MTLS" cert sign --ca pki/ca --client --csr bad.crt --out y.crt
assert_one_line_error "bad.crt: not a certificate request (neither PEM nor DER)"
ok "an unparsable file: one wording (verify, connect, serve, inspect, sign)"

run 1 "$MTLS" cert issue --ca pki/ca/ca.crt --client --name x --out x
assert_one_line_error "pki/ca/ca.crt"
assert_contains "$T/err" "a CA directory"
assert_contains "$T/err" "--ca pki/ca"
run 1 "$MTLS" cert issue --ca pki --client --name x --out x
assert_one_line_error "--ca pki/ca"
run 1 "$MTLS" connect "localhost:$P" --ca pki/ca --cert pki/client.crt --key pki/client.key
assert_one_line_error "pki/ca: a directory"
assert_contains "$T/err" "--ca pki/ca/ca.crt"
run 1 timeout 10 "$MTLS" serve --listen "127.0.0.1:$P" --cert pki/server.crt \
    --key pki/server.key --ca pki --backend "127.0.0.1:$B" --allow-any
assert_one_line_error "--ca pki/ca/ca.crt"
run 1 "$MTLS" cert verify --ca pki/ca pki/client.crt
assert_one_line_error "--ca pki/ca/ca.crt"
ok "--ca of the wrong kind: the kind expected and the path that would work"

mkdir ext
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout ext/ca.key -out ext/ca.crt -subj /CN=ExtCA -days 30 \
    -addext keyUsage=critical,keyCertSign,cRLSign >/dev/null 2>&1
run 1 "$MTLS" cert issue --ca ext --client --name x --out x
assert_one_line_error "mtls ca import"
assert_not_contains "$T/err" "unable to open database file"
ok "a CA made elsewhere: mtls ca import, not 'unable to open database file'"

run 0 "$MTLS" ca import --dir ext
assert_file ext/ca.db
run 0 "$MTLS" cert issue --ca ext --client --name x --out x
run 0 "$MTLS" cert verify --ca ext/ca.crt x.crt
run 1 "$MTLS" ca import --dir ext
assert_one_line_error "ext/ca.db: exists"
run 0 "$MTLS" ca init --dir mine --name "Mine CA"
rm mine/ca.db
cp pki/ca/ca.key mine/ca.key
run 1 "$MTLS" ca import --dir mine
assert_one_line_error "mine/ca.key"
ok "mtls ca import adopts ca.crt + ca.key (checked to match); cert issue then works"
