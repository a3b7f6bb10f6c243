#!/bin/sh
# An encrypted server key: without MTLS_KEY_PASSPHRASE serve refuses to
# start with one line naming the key, a wrong passphrase is one line too;
# with the right one serve starts, serves, and reloads (SIGHUP) a new
# certificate whose key is encrypted with the same passphrase; the same
# from a configuration file, whose reloads read the key again; and the
# tunnel's encrypted client key.
. "$MTLS_TOP/tests/integration/lib.sh"
. "$MTLS_TOP/tests/integration/serve_lib.sh"
. "$MTLS_TOP/tests/integration/config_lib.sh"

make_pki
start_backend echo
mkdir cur
openssl pkey -in pki/server.key -aes256 -passout pass:s3cret -out cur/server.key
cp pki/server.crt cur/server.crt
P=$(free_port)
serve_args="--listen 127.0.0.1:$P --cert cur/server.crt --key cur/server.key --ca pki/ca/ca.crt --backend 127.0.0.1:$BPORT --allow-cn client"

# shellcheck disable=SC2086
run 1 env -u MTLS_KEY_PASSPHRASE "$MTLS" serve $serve_args
assert_one_line_error "cur/server.key: the key is encrypted and no passphrase was given"
# shellcheck disable=SC2086
run 1 env MTLS_KEY_PASSPHRASE=wrong "$MTLS" serve $serve_args
assert_one_line_error "cur/server.key: wrong passphrase"
ok "an encrypted key without its passphrase, or with a wrong one: one line naming the key, exit 1"

export MTLS_KEY_PASSPHRASE=s3cret
# shellcheck disable=SC2086
mtls_cmd serve $serve_args 2>>"$T/serve.log" &
SPID=$!
track $SPID
wait_port "$P"
client_to "$P" pki/client || { cat "$T/sc.out"; fail "serve with an encrypted key does not serve"; }
ok "MTLS_KEY_PASSPHRASE unlocks serve's key"

run 0 "$MTLS" cert issue --ca pki/ca --server --name localhost --dns localhost --ip 127.0.0.1 --out next
openssl pkey -in next.key -aes256 -passout pass:s3cret -out cur/new.key
cp next.crt cur/new.crt
mv cur/new.key cur/server.key && mv cur/new.crt cur/server.crt
new_serial=$(openssl x509 -in next.crt -noout -serial | cut -d= -f2)
kill -HUP "$SPID"
wait_log "reloaded the configuration (SIGHUP)"
got=$(openssl s_client -connect "127.0.0.1:$P" -servername localhost -CAfile pki/ca/ca.crt \
    -cert pki/client.crt -key pki/client.key </dev/null 2>/dev/null |
    openssl x509 -noout -serial | cut -d= -f2)
[ "$got" = "$new_serial" ] || fail "after the reload serve presents serial $got, not the new $new_serial"
ok "a reload reads the new encrypted key with the same passphrase"
kill "$SPID"; wait "$SPID" 2>/dev/null

P2=$(free_port)
service_conf "$P2" "$T/cur" >conf.yaml
run 1 env -u MTLS_KEY_PASSPHRASE "$MTLS" serve --config conf.yaml --check
assert_contains "$T/err" "the key is encrypted and no passphrase was given"
run 0 "$MTLS" serve --config conf.yaml --check
start_config conf.yaml
wait_port "$P2"
serves_across_sighup "$P2" "reloaded conf.yaml (SIGHUP)" "serve --config with an encrypted key"
ok "a configuration file's encrypted key: checked, served, and read again at a reload"
kill "$SPID"; wait "$SPID" 2>/dev/null

openssl pkey -in pki/client.key -aes256 -passout pass:s3cret -out client-enc.key
start_serve --allow-cn client
start_tunnel "$PORT" --key client-enc.key
run 0 python3 "$PLAIN_CLIENT" "$TPORT" line "through an encrypted key"
assert_contains "$T/out" "through an encrypted key"
ok "the tunnel's encrypted client key, unlocked the same way"
