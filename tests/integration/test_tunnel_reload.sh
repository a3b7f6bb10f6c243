#!/bin/sh
# Reloading the tunnel's client certificate (SIGHUP, after the files were
# replaced) keeps an open transfer going to its end, intact, while new
# connections present the new certificate; a reload that fails (a broken
# key) keeps the previous configuration working.
. "$MTLS_TOP/tests/integration/lib.sh"
. "$MTLS_TOP/tests/integration/serve_lib.sh"

make_pki
run 0 "$MTLS" cert issue --ca pki/ca --client --name client2 --out client2
mkdir cur
cp pki/client.crt cur/tls.crt
cp pki/client.key cur/tls.key
start_backend sha
start_serve --allow-cn client --allow-cn client2
start_tunnel "$PORT" --cert cur/tls.crt --key cur/tls.key
# wait_port's probe went through to the backend as CN=client: once serve
# has logged it, forget it, so that the backend's next line is the transfer.
wait_log 'subject="CN=client"'
: >"$T/backend.log"

# About 2.5 s of transfer, 64 KiB every 50 ms.
python3 "$PLAIN_CLIENT" "$TPORT" trickle 3145728 >"$T/long.out" 2>&1 &
LPID=$!
# The reload must come while this transfer is open on the old certificate.
wait_backend_conns 1
cp client2.crt cur/new.crt && mv cur/new.crt cur/tls.crt
cp client2.key cur/new.key && mv cur/new.key cur/tls.key
kill -HUP "$TPID"
wait_file_log "$T/tunnel.log" "reloaded the configuration (SIGHUP)"
run 0 python3 "$PLAIN_CLIENT" "$TPORT" sha 1000
wait_log 'subject="CN=client2"'
ok "after the reload new connections present the new certificate"

wait $LPID || { cat "$T/long.out"; fail "the transfer open during the reload failed"; }
cat "$T/long.out"
wait_log "in=3145728 "
grep -F "in=3145728 " "$T/serve.log" | grep -qF 'subject="CN=client"' ||
    { cat "$T/serve.log"; fail "the long transfer did not finish on the old certificate"; }
ok "the transfer open during the reload finished intact on the old certificate"

printf 'not a key\n' >cur/new.key && mv cur/new.key cur/tls.key
kill -HUP "$TPID"
wait_file_log "$T/tunnel.log" "reload (SIGHUP) failed, keeping the previous configuration"
run 0 python3 "$PLAIN_CLIENT" "$TPORT" sha 1000
ok "a failed reload keeps the previous configuration working"
