#!/bin/sh
# mtls enroll and mtls renew against mtls ca serve: the key is made locally
# and never sent, the files are written 0600/atomically, the exit status
# says whether it renewed, and renew --daemon renews on its own and runs
# --exec.
. "$MTLS_TOP/tests/integration/lib.sh"
. "$MTLS_TOP/tests/integration/est_lib.sh"

est_ca
est_start --hours 0.01

tok=$("$MTLS" ca token --ca ca --name svc.example.com --server 2>/dev/null) ||
    fail "ca token failed"
run 0 "$MTLS" enroll --server "$EST_URL" --ca-cert ca/ca.crt --token "$tok" \
    --name svc.example.com --out svc
assert_contains "$T/out" "enrolled: serial"
assert_mode svc.key 600
run 0 openssl verify -CAfile ca/ca.crt -purpose sslserver svc.crt
# The key never left: the CA's inventory holds the certificate, never it.
pub=$(openssl pkey -in svc.key -pubout | sed -n 2p)
assert_not_contains ca/ca.db "$(sed -n 2p svc.key)"
[ "$(openssl x509 -in svc.crt -noout -pubkey | sed -n 2p)" = "$pub" ] ||
    fail "the certificate is not for the local key"
ok "enroll: a local key (0600), a server certificate that openssl verifies"

run 1 "$MTLS" enroll --server "$EST_URL" --ca-cert ca/ca.crt --token "$tok" \
    --name svc.example.com --out again
assert_one_line_error "HTTP 401"
assert_no_file again.key
ok "enroll with a used token: exit 1, one line, no files left"

s1=$(openssl x509 -in svc.crt -noout -serial)
run 0 "$MTLS" renew --server "$EST_URL" --ca-cert ca/ca.crt --cert svc.crt --key svc.key
assert_contains "$T/out" "renewed: svc.crt"
s2=$(openssl x509 -in svc.crt -noout -serial)
[ "$s1" != "$s2" ] || fail "renew left the same certificate"
[ "$(openssl x509 -in svc.crt -noout -pubkey | sed -n 2p)" = "$pub" ] ||
    fail "renew without --rekey changed the key"
run 0 "$MTLS" renew --server "$EST_URL" --ca-cert ca/ca.crt --cert svc.crt --key svc.key --rekey
[ "$(openssl x509 -in svc.crt -noout -pubkey | sed -n 2p)" != "$pub" ] ||
    fail "renew --rekey kept the key"
run 0 openssl verify -CAfile ca/ca.crt svc.crt
assert_mode svc.key 600
assert_no_tmp .
ok "renew: exit 0, a new serial with the same key; --rekey: a new key"

# An encrypted key: renewed with MTLS_KEY_PASSPHRASE, and a new key from
# --rekey is encrypted with it too (never written in the clear).
openssl pkey -in svc.key -aes256 -passout pass:s3cret -out enc.key
cp svc.crt enc.crt
run 1 env -u MTLS_KEY_PASSPHRASE "$MTLS" renew --server "$EST_URL" --ca-cert ca/ca.crt --cert enc.crt --key enc.key
assert_one_line_error "enc.key: the key is encrypted and no passphrase was given"
run 0 env MTLS_KEY_PASSPHRASE=s3cret "$MTLS" renew --server "$EST_URL" --ca-cert ca/ca.crt --cert enc.crt --key enc.key --rekey
assert_contains enc.key "BEGIN ENCRYPTED PRIVATE KEY"
epub=$(openssl pkey -in enc.key -passin pass:s3cret -pubout | sed -n 2p)
[ "$(openssl x509 -in enc.crt -noout -pubkey | sed -n 2p)" = "$epub" ] ||
    fail "the renewed certificate is not for the new encrypted key"
assert_mode enc.key 600
ok "renew of an encrypted key: the passphrase from MTLS_KEY_PASSPHRASE; --rekey writes the new key encrypted with it"

run 0 "$MTLS" cert revoke --ca ca --cert svc.crt
cp svc.crt before.crt
run 1 "$MTLS" renew --server "$EST_URL" --ca-cert ca/ca.crt --cert svc.crt --key svc.key
assert_one_line_error "HTTP 403"
cmp -s svc.crt before.crt || fail "a refused renewal changed the file"
ok "renew of a revoked certificate: exit 1, the files untouched"

# --daemon with 36-second certificates: it renews by itself at 2/3 of the
# lifetime and runs --exec each time.
tok=$("$MTLS" ca token --ca ca --name agent 2>/dev/null)
run 0 "$MTLS" enroll --server "$EST_URL" --ca-cert ca/ca.crt --token "$tok" \
    --name agent --out agent
a1=$(openssl x509 -in agent.crt -noout -serial)
"$MTLS" renew --server "$EST_URL" --ca-cert ca/ca.crt --cert agent.crt \
    --key agent.key --daemon --exec "echo renewed >>hook.log" 2>daemon.log &
dpid=$!
track $dpid
i=0
while [ $i -lt 600 ] && [ ! -s hook.log ]; do sleep 0.1; i=$((i + 1)); done
[ -s hook.log ] || { cat daemon.log; fail "renew --daemon did not renew within 60 s"; }
a2=$(openssl x509 -in agent.crt -noout -serial)
[ "$a1" != "$a2" ] || fail "the daemon ran --exec without a new certificate"
assert_contains daemon.log "renewed, valid until"
kill $dpid; wait $dpid
ok "renew --daemon: renewed at 2/3 of the lifetime, --exec ran, SIGTERM ends it"
