#!/bin/sh
# serve --config: a reload that gives a service renew-from starts renewing
# its certificate (from mtls ca serve, with short-lived certificates) without
# a restart, and a reload that takes it away stops the renewals.  One whose
# files lie where the sandbox set at start allows no writing is refused in
# one line instead of failing at every attempt.
. "$MTLS_TOP/tests/integration/lib.sh"
. "$MTLS_TOP/tests/integration/serve_lib.sh"
. "$MTLS_TOP/tests/integration/config_lib.sh"
. "$MTLS_TOP/tests/integration/est_lib.sh"

# 36-second certificates (three times longer under valgrind).
HOURS=0.01 LIFE=36
if [ -n "${MTLS_WRAP:-}" ]; then HOURS=0.03 LIFE=108; fi
est_ca
est_start --hours $HOURS
mkdir certs ro
cp ca/ca.crt ro/ca.crt
for n in base api far; do
	tok=$("$MTLS" ca token --ca ca --name localhost --ip 127.0.0.1 --server 2>/dev/null) ||
	    fail "ca token failed"
	run 0 "$MTLS" enroll --server "$EST_URL" --ca-cert ca/ca.crt --token "$tok" \
	    --name localhost --ip 127.0.0.1 --out "certs/$n"
done
mv certs/far.crt certs/far.key ro/
BE=$(backend_on echo be.log)
PB=$(free_port); PA=$(free_port); PF=$(free_port)

service() { # NAME PORT DIR [RENEW-URL]
	echo "  $1:"
	echo "    listen: 127.0.0.1:$2"
	echo "    cert: $3/$1.crt"
	echo "    key: $3/$1.key"
	echo "    ca: ro/ca.crt"
	echo "    backend: 127.0.0.1:$BE"
	echo "    allow: { cn: client }"
	[ -z "${4:-}" ] || echo "    renew-from: $4"
}
conf() { # API-RENEW-URL FAR-RENEW-URL
	{ echo "services:"
	  service base "$PB" certs "$EST_URL"
	  service api "$PA" certs "$1"
	  service far "$PF" ro "$2"; } >mtls.yaml.new
	mv mtls.yaml.new mtls.yaml
}
conf "" ""
start_config mtls.yaml
wait_port "$PA"
wait_log "service api: listening on"
serial=$(openssl x509 -in certs/api.crt -noout -serial)

conf "$EST_URL" ""
kill -HUP "$SPID"
wait_log "api: certificate renewal from $EST_URL at"
ok "a reload that adds renew-from schedules the renewal"

i=0
while [ $i -lt $((LIFE * 2)) ] && ! grep -q "api: certificate renewed, valid until" "$T/serve.log"; do
	sleep 1; i=$((i + 1))
done
assert_contains "$T/serve.log" "api: certificate renewed, valid until"
[ "$(openssl x509 -in certs/api.crt -noout -serial)" != "$serial" ] || fail "certs/api.crt was not renewed"
ok "the service given renew-from by a reload renews its certificate"

conf "" "$EST_URL"
kill -HUP "$SPID"
wait_log "api: no longer renewing its certificate"
if grep -q "sandbox: Landlock ABI" "$T/serve.log"; then
	wait_log "far: ro/far.crt cannot be replaced: the sandbox set at start does not let this process write there"
	ok "renew-from where the sandbox allows no writing is refused in one line"
else
	echo "no Landlock here: the sandbox case not run"
fi
kill -0 "$SPID" || fail "serve died on the reloads"
ok "a reload that removes renew-from stops the renewals"
