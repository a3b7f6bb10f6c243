#!/bin/sh
# serve --config reloads: a new file (seen by inotify, no signal) that adds
# a service, removes one and changes the rules of a third is applied while
# a transfer runs on the unchanged service, which finishes intact (SHA-256
# checked by the backend); the removed service stops listening, the added
# one answers, the changed one applies its new rules.  A broken file
# (SIGHUP) keeps everything as it was and the log says why.
. "$MTLS_TOP/tests/integration/lib.sh"
. "$MTLS_TOP/tests/integration/serve_lib.sh"
. "$MTLS_TOP/tests/integration/config_lib.sh"

CLIENT="$MTLS_TOP/tests/integration/tls_client.py"
make_pki
run 0 "$MTLS" cert issue --ca pki/ca --client --name ops --out ops
BS=$(backend_on sha bs.log)
BE=$(backend_on echo be.log)
PK=$(free_port); PR=$(free_port); PC=$(free_port); PA=$(free_port)

# service NAME PORT BACKEND RULE
service() {
	cat <<YAML
  $1:
    listen: 127.0.0.1:$2
    cert: pki/server.crt
    key: pki/server.key
    ca: pki/ca/ca.crt
    backend: 127.0.0.1:$3
    allow: { cn: $4 }
YAML
}
{ echo "workers: 2"; echo "services:"
  service keep "$PK" "$BS" client
  service gone "$PR" "$BE" client
  service change "$PC" "$BE" client; } >mtls.yaml
start_config mtls.yaml
wait_port "$PK"; wait_port "$PR"; wait_port "$PC"
client_to "$PC" pki/client || fail "the change service refuses its client before the reload"

# About 3 s of transfer on the unchanged service, 64 KiB every 50 ms.
python3 "$CLIENT" "$PK" pki/ca/ca.crt pki/client.crt pki/client.key trickle 4194304 >"$T/long.out" 2>&1 &
LPID=$!
sleep 0.5
{ echo "workers: 2"; echo "services:"
  service keep "$PK" "$BS" client
  service change "$PC" "$BE" ops
  service added "$PA" "$BE" client; } >mtls.yaml.new
mv mtls.yaml.new mtls.yaml
wait_log "reloaded mtls.yaml (a file changed)"
assert_contains "$T/serve.log" "service added: added"
assert_contains "$T/serve.log" "service gone: removed"
assert_contains "$T/serve.log" "service change: changed"
assert_contains "$T/serve.log" "service keep: reloaded"
ok "a changed file is applied without a signal: one service added, one removed, one changed"

wait_port "$PA"
client_to "$PA" pki/client || { cat "$T/sc.out"; fail "the added service refuses its client"; }
client_to "$PC" ops || { cat "$T/sc.out"; fail "the changed service refuses the client its new rule allows"; }
! client_to "$PC" pki/client || fail "the changed service still lets in the client only its old rule allowed"
python3 -c "import socket,sys; s=socket.socket(); sys.exit(s.connect_ex(('127.0.0.1',$PR)))" &&
    fail "the removed service still accepts connections"
ok "the added service answers, the changed one applies its new rules, the removed one no longer listens"

wait $LPID || { cat "$T/long.out"; fail "the transfer on the unchanged service failed during the reload"; }
assert_contains "$T/long.out" "backend: 4194304"
ok "the transfer open on the unchanged service finished intact (SHA-256)"

printf 'services:\n  keep:\n    listen: [oops\n' >mtls.yaml.new
mv mtls.yaml.new mtls.yaml
kill -HUP "$SPID"
wait_log "failed, keeping the previous configuration: mtls.yaml:4: YAML: did not find expected"
client_to "$PA" pki/client || fail "a broken file stopped the added service"
python3 "$CLIENT" "$PK" pki/ca/ca.crt pki/client.crt pki/client.key sha 100000 >"$T/out" 2>&1 ||
    { cat "$T/out"; fail "a broken file stopped the unchanged service"; }
ok "a broken file keeps the previous services, and the log says where the file is wrong"
