#!/bin/sh
# HAProxy run with exactly the sections "mtls config haproxy" made (a PKI
# whose clients an intermediate issues, a CRL for each CA): the valid
# client gets through with its identity, everyone else is refused in the
# handshake, nobody can spoof the identity headers.
. "$MTLS_TOP/tests/integration/lib.sh"
. "$MTLS_TOP/tests/integration/config_servers_lib.sh"

HAPROXY=$(command -v haproxy || echo /usr/sbin/haproxy)
[ -x "$HAPROXY" ] || skip "haproxy is not installed"
SERVER=haproxy
config_pki
config_backend
config_make haproxy
run 0 "$HAPROXY" -c -f "$T/snippet.conf"
"$HAPROXY" -db -f "$T/snippet.conf" >"$T/haproxy.log" 2>&1 &
track $!
wait_port "$port"
config_scenario
