#!/bin/sh
# The checks at start (those of mtls doctor: a certificate that is not a
# server's, an expired one, ...) run for serve --config services and at
# every reload, not only for the command line: a file naming a
# clientAuth-only certificate as a service's does not start (nor pass
# --check), a reload (SIGHUP) to such a file or of such files keeps the
# previous configuration with one error line and the code, and the
# service keeps answering; unsafe-start-anyway: true starts all the same.
. "$MTLS_TOP/tests/integration/lib.sh"
. "$MTLS_TOP/tests/integration/serve_lib.sh"
. "$MTLS_TOP/tests/integration/config_lib.sh"

make_pki
run 0 "$MTLS" cert issue --ca pki/ca --client --name notserver --out clientonly
BE=$(backend_on echo be.log)
P=$(free_port)

# conf CERTPREFIX [EXTRA]: one service on $P with CERTPREFIX.crt/.key.
conf() {
	cat <<YAML
services:
  web:
    listen: 127.0.0.1:$P
    cert: $1.crt
    key: $1.key
    ca: pki/ca/ca.crt
    backend: 127.0.0.1:$BE
    allow: { cn: client }
${2:-}
YAML
}

conf clientonly >bad.yaml
run 1 timeout 20 "$MTLS" serve --config bad.yaml --check
assert_contains "$T/err" "service web: usage-no-serverauth"
run 1 timeout 20 "$MTLS" serve --config bad.yaml
assert_contains "$T/err" "service web: usage-no-serverauth"
assert_contains "$T/err" "fix:"
[ "$(grep -c . "$T/err")" -eq 1 ] || { cat "$T/err"; fail "more than one error line"; }
ok "serve --config with a clientAuth-only certificate: refused at start (and by --check), code and fix"

conf clientonly "    unsafe-start-anyway: true" >anyway.yaml
start_config anyway.yaml
wait_port "$P"
kill "$SPID"; wait "$SPID" 2>/dev/null
ok "unsafe-start-anyway: true in the file starts all the same"

: >"$T/serve.log"
cp pki/server.crt web.crt; cp pki/server.key web.key
conf web >good.yaml
cp good.yaml mtls.yaml
# No inotify reload: only the signal, so the test decides when.
start_config mtls.yaml
wait_port "$P"
client_to "$P" pki/client || { cat "$T/sc.out"; fail "the good service refuses its client"; }
conf clientonly >mtls.yaml.new
mv mtls.yaml.new mtls.yaml
kill -HUP "$SPID"
wait_log "failed, keeping the previous configuration: service web: usage-no-serverauth"
client_to "$P" pki/client || { cat "$T/sc.out"; fail "a failed reload stopped the service"; }
ok "reload to a file whose certificate cannot serve: previous configuration kept, code logged"

kill "$SPID"; wait "$SPID" 2>/dev/null
: >"$T/serve.log"
# The command line: its files replaced by a client's, then SIGHUP.
PORT=$P
mtls_cmd serve --listen "127.0.0.1:$PORT" --cert web.crt --key web.key \
    --ca pki/ca/ca.crt --backend "127.0.0.1:$BE" --allow-cn client 2>>"$T/serve.log" &
SPID=$!
track $SPID
wait_port "$PORT"
cp clientonly.crt web.crt.new; cp clientonly.key web.key.new
mv web.key.new web.key; mv web.crt.new web.crt
kill -HUP "$SPID"
wait_log "failed, keeping the previous configuration: usage-no-serverauth"
n=$(grep -c "error: reload" "$T/serve.log")
[ "$n" -ge 1 ] || fail "no reload error line"
client_to "$P" pki/client || { cat "$T/sc.out"; fail "a failed reload stopped the command-line service"; }
ok "command line: a reload of files that cannot serve keeps the previous ones, one error line"
