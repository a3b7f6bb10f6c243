#!/bin/sh
# The sandbox after start (on by default): /proc/PID/status shows
# no_new_privs and a seccomp filter, the log the Landlock ABI in force;
# with Landlock, a reload that names a certificate outside the directories
# the process started with fails (the open is refused) and the service
# keeps working, while a Kubernetes-style symlink swap inside them
# reloads; --no-sandbox turns both off.
. "$MTLS_TOP/tests/integration/lib.sh"
. "$MTLS_TOP/tests/integration/serve_lib.sh"
. "$MTLS_TOP/tests/integration/config_lib.sh"

make_pki
start_backend echo
start_serve --allow-cn client
wait_log "sandbox: "
assert_sandboxed "$SPID" "$T/serve.log"
if grep -q "sandbox: Landlock ABI" "$T/serve.log"; then LANDLOCK=1; else
	LANDLOCK=0; assert_contains "$T/serve.log" "sandbox: Landlock is not available"; fi
serves_across_sighup "$PORT" "reloaded the configuration (SIGHUP)" "the sandboxed proxy"
ok "sandbox on by default: no_new_privs, a seccomp filter, Landlock (ABI logged); it serves and reloads"
kill "$SPID"; wait "$SPID" 2>/dev/null
: >"$T/serve.log"

start_serve --allow-cn client --no-sandbox
wait_log "listening on"
grep -q '^Seccomp:[[:space:]]*0' /proc/"$SPID"/status || fail "--no-sandbox still has a seccomp filter"
assert_not_contains "$T/serve.log" "sandbox:"
ok "--no-sandbox: no filter, no Landlock"
kill "$SPID"; wait "$SPID" 2>/dev/null
: >"$T/serve.log"

# A service whose files are a Kubernetes secret: ..data -> v1; its
# configuration file in a directory of its own.
mkdir -p secret/v1 elsewhere conf
cp pki/server.crt pki/server.key secret/v1/
ln -s v1 secret/..data
ln -s ..data/server.crt secret/server.crt
ln -s ..data/server.key secret/server.key
P=$(free_port)
conf() {
	cat <<YAML
services:
  api:
    listen: 127.0.0.1:$P
    cert: $T/$1/server.crt
    key: $T/$1/server.key
    ca: $T/pki/ca/ca.crt
    backend: 127.0.0.1:$BPORT
    allow: { cn: client }
YAML
}
conf secret >conf/mtls.yaml
start_config conf/mtls.yaml
wait_port "$P"
run 0 "$MTLS" cert issue --ca pki/ca --server --name localhost --ip 127.0.0.1 --out new
mkdir secret/v2 && cp new.crt secret/v2/server.crt && cp new.key secret/v2/server.key
ln -s v2 secret/..data.tmp && mv -T secret/..data.tmp secret/..data
wait_log "service api: reloaded"
serial=$(openssl x509 -in new.crt -noout -serial | sed 's/serial=//')
(printf 'x\n'; sleep "$PAUSE") | timeout 10 openssl s_client -connect "127.0.0.1:$P" \
    -CAfile pki/ca/ca.crt -cert pki/client.crt -key pki/client.key -showcerts >"$T/sc.out" 2>&1
sed -n '/BEGIN CERT/,/END CERT/p' "$T/sc.out" | head -n 30 | openssl x509 -noout -serial >served.txt
assert_contains served.txt "$serial"
ok "sandboxed: a symlink swap in the certificate directory reloads the new certificate"

if [ $LANDLOCK = 1 ] && [ -z "${MTLS_WRAP:-}" ]; then
	cp new.crt elsewhere/server.crt && cp new.key elsewhere/server.key
	conf elsewhere >conf/mtls.yaml.new && mv conf/mtls.yaml.new conf/mtls.yaml
	wait_log "reload (a file changed) failed, keeping the previous configuration"
	grep "failed, keeping" "$T/serve.log" | grep -q "elsewhere/server.crt.*Permission denied" ||
	    { cat "$T/serve.log"; fail "the refused open is not what the failed reload reports"; }
	client_to "$P" pki/client || fail "the service stopped after the refused reload"
	ok "Landlock: a file outside the directories the process started with cannot be opened; the service goes on"
else
	ok "# skip Landlock is not in force here (no kernel support, or valgrind)"
fi
