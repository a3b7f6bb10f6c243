#!/bin/sh
# A TCP backend that takes the client's bytes and closes without sending one
# back is logged as such (outcome backend_closed, the reason in words), not
# as outcome=ok; an echo backend's exchange is still ok.
. "$MTLS_TOP/tests/integration/lib.sh"
. "$MTLS_TOP/tests/integration/serve_lib.sh"

make_pki
start_backend swallow
MPORT=$(free_port)
start_serve --allow-cn client --metrics "127.0.0.1:$MPORT"
wait_port "$MPORT"
s_client pki/client
wait_file_log "$T/backend.log" "swallowed 5"
wait_log "outcome=backend_closed"
assert_contains "$T/serve.log" 'outcome=backend_closed reason="the backend closed the connection without sending a byte (the client had sent 5)" '
grep "subject=\"CN=client\"" "$T/serve.log" | grep -q "outcome=ok" &&
    fail "the silent backend's connection is logged as ok"
curl -s "http://127.0.0.1:$MPORT/metrics" >"$T/metrics"
grep -Eq '^mtls_serve_backend_errors_total(\{[^}]*\})? 1$' "$T/metrics" ||
    { grep backend_errors "$T/metrics"; fail "the silent backend is not counted as a backend error"; }
ok "a backend that closes without answering: outcome=backend_closed with the reason, counted as a backend error"

kill "$SPID" "$BPID"; wait "$SPID" "$BPID" 2>/dev/null
: >"$T/serve.log"
start_backend echo
start_serve --allow-cn client --log-format json
s_client pki/client
assert_contains "$T/sc.out" "ping"
wait_log '"subject":"CN=client"'
assert_contains "$T/serve.log" '"outcome":"ok","reason":null,"subject":"CN=client"'
ok "an echo backend's exchange is still outcome ok"
