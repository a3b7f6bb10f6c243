#!/bin/sh
# serve --config: one process runs three services from one YAML file, each
# with its own listener, CA, rules and backend (one with PROXY v2).  Each
# service's client gets through and is refused by the two others (unknown
# CA, or no rule); the log names the service; /metrics has a series per
# service.
. "$MTLS_TOP/tests/integration/lib.sh"
. "$MTLS_TOP/tests/integration/serve_lib.sh"
. "$MTLS_TOP/tests/integration/config_lib.sh"

make_pki
run 0 "$MTLS" cert issue --ca pki/ca --client --name ops --out ops
B1=$(backend_on pp2 b1.log)
B2=$(backend_on echo b2.log)
B3=$(backend_on echo b3.log)
P1=$(free_port); P2=$(free_port); P3=$(free_port); MP=$(free_port)
cat >mtls.yaml <<YAML
workers: 2
metrics: 127.0.0.1:$MP
services:
  pp:
    listen: 127.0.0.1:$P1
    cert: pki/server.crt
    key: pki/server.key
    ca: pki/ca/ca.crt
    backend: 127.0.0.1:$B1
    proxy-protocol: true
    allow:
      cn: client
  other:
    listen: 127.0.0.1:$P2
    cert: pki/server.crt
    key: pki/server.key
    ca: other/ca.crt
    backend: 127.0.0.1:$B2
    allow: { any: true }
  ops:
    listen: 127.0.0.1:$P3
    cert: pki/server.crt
    key: pki/server.key
    ca: pki/ca/ca.crt
    backend: 127.0.0.1:$B3
    tls-min: "1.3"
    allow:
      cn: [ops, nobody-else]
YAML
start_config mtls.yaml
wait_port "$P1"; wait_port "$P2"; wait_port "$P3"

# The expected outcome of each client on each service.
while read -r svc port who want; do
	if client_to "$port" "$who"; then got=through; else got=refused; fi
	[ "$got" = "$want" ] || { cat "$T/sc.out"; tail -n 5 "$T/serve.log"; fail "$who on $svc: $got, expected $want"; }
done <<CASES
pp $P1 pki/client through
pp $P1 other-client refused
pp $P1 ops refused
other $P2 other-client through
other $P2 pki/client refused
other $P2 ops refused
ops $P3 ops through
ops $P3 pki/client refused
ops $P3 other-client refused
CASES
ok "three services in one process: each service's client gets through, the other two are refused"

# PROXY v2 on pp only: its backend parsed the header and saw the CN.
assert_contains b1.log '"cn": "client"'
[ "$(grep -c . b2.log)" -eq 1 ] && [ "$(grep -c . b3.log)" -eq 1 ] ||
    { cat b2.log b3.log; fail "each plain backend should have seen exactly one connection"; }
ok "PROXY v2 goes to the pp service's backend only; the refused clients reached no backend"

wait_log "service=other" 3
assert_contains "$T/serve.log" "service=ops client=127.0.0.1"
grep "service=other" "$T/serve.log" | grep -q 'reason=".*CN=mtls Root CA\|unknown\|issuer' ||
    { grep service=other "$T/serve.log"; fail "the other service's refusals do not say the CA is unknown"; }
grep "service=ops" "$T/serve.log" | grep -q 'no rule allows CN=client' ||
    { grep service=ops "$T/serve.log"; fail "the ops service's refusal does not name the rule"; }
ok "each connection's log line names its service and the refusal reason"

curl -s "http://127.0.0.1:$MP/metrics" >metrics.txt
for s in pp other ops; do
	assert_contains metrics.txt "mtls_handshakes_total{service=\"$s\",kind=\"full\"} 1"
done
assert_contains metrics.txt 'mtls_handshake_failures_total{service="ops",reason="access_denied"} 1'
assert_contains metrics.txt 'mtls_serve_handshakes_total{outcome="ok",reason=""} 3'
grep -q '^mtls_certificate_expiration_timestamp_seconds{service="other",role="ca"} [1-9]' metrics.txt ||
    fail "no CA expiry for the other service"
ok "/metrics: totals over the services and a series per service"

kill -TERM "$SPID"
wait "$SPID"; rc=$?
[ $rc -eq 0 ] || fail "serve --config exited $rc after SIGTERM"
ok "SIGTERM stops every service, exit 0"
