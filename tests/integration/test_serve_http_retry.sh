#!/bin/sh
# serve --http over a reused (keep-alive) backend connection that turns out
# to be closed as the next request goes out (the backend's idle timer
# fired just then; http_backend.py's /stale paths play it): an idempotent
# request without a body is sent once more on a new connection and the
# client never sees the race; a POST is not retried (RFC 9110 9.2.2) and
# gets 502; a retry happens once, not again.
. "$MTLS_TOP/tests/integration/lib.sh"
. "$MTLS_TOP/tests/integration/serve_lib.sh"
. "$MTLS_TOP/tests/integration/http_lib.sh"

make_pki
start_http_backend
MPORT=$(free_port)
start_serve --http --allow-any --workers 1 --metrics "127.0.0.1:$MPORT"
wait_port "$MPORT"

# count TEXT: lines of the backend's log holding TEXT.
count() { grep -cF -- "$1" "$T/http.log"; }
# conns PATH: the backend connections on which PATH was answered.
conns() {
	python3 -c 'import json, sys
for l in open(sys.argv[1]):
    r = json.loads(l)
    if r.get("path") == sys.argv[2]:
        print(r["conn"])' "$T/http.log" "$1"
}
retries() {
	curl -s "http://127.0.0.1:$MPORT/metrics" |
	    awk '/^mtls_serve_http_retries_total/ { print $2 }'
}

# One client connection (curl reuses it), so one backend connection: the
# second request goes out on a connection the backend drops.
for p in /stale /stale-rst; do
	: >"$T/http.log"
	curl_mtls -o "$T/o1" -o "$T/o2" -w '%{http_code}\n' \
	    "https://localhost:$PORT/first" "https://localhost:$PORT$p" \
	    >"$T/codes" || fail "curl /first $p"
	[ "$(tr '\n' ' ' <"$T/codes")" = "200 200 " ] ||
	    fail "$p: statuses $(tr '\n' ' ' <"$T/codes"), want 200 200"
	assert_contains "$T/o2" "\"path\": \"$p\""
	[ "$(count "\"dropped\": \"$p\"")" = 1 ] ||
	    fail "$p: the backend did not drop it once on the reused connection"
	first=$(conns /first) again=$(conns "$p")
	[ -n "$again" ] && [ "$first" != "$again" ] ||
	    fail "$p: answered on connection '$again', want a new one (not $first)"
done
[ "$(retries)" = 2 ] || fail "http_retries_total is '$(retries)', want 2"
ok "GET on a reused backend connection closed (FIN, then RST) under it: sent again on a new connection, 200 to the client, counted"

# A POST may have had effects: never sent twice by the proxy.
: >"$T/http.log"
# (--next starts the options afresh; the connection is still reused.)
tlsopts="--cacert pki/ca/ca.crt --cert pki/client.crt --key pki/client.key"
# shellcheck disable=SC2086
timeout 20 curl -sS $tlsopts -o "$T/o1" -w '%{http_code}\n' \
    "https://localhost:$PORT/first" --next $tlsopts -o "$T/o2" \
    -w '%{http_code}\n' -X POST -d 'x=1' \
    "https://localhost:$PORT/stale-post" >"$T/codes"
[ "$(tr '\n' ' ' <"$T/codes")" = "200 502 " ] ||
    fail "POST: statuses $(tr '\n' ' ' <"$T/codes"), want 200 502"
[ "$(count '"dropped": "/stale-post"')" = 1 ] || fail "POST: not dropped once"
[ "$(count '"path": "/stale-post"')" = 0 ] || fail "POST: sent again"
wait_log 'reason="the backend closed the connection before answering"'
ok "POST on the same dropped connection: not retried, 502"

# The new connection fails too (/close: no answer on any connection): one
# retry, then 502.
: >"$T/http.log"
curl_mtls -o "$T/o1" -o "$T/o2" -w '%{http_code}\n' \
    "https://localhost:$PORT/first" "https://localhost:$PORT/close" \
    >"$T/codes"
[ "$(tr '\n' ' ' <"$T/codes")" = "200 502 " ] ||
    fail "/close: statuses $(tr '\n' ' ' <"$T/codes"), want 200 502"
[ "$(count '"path": "/close"')" = 2 ] ||
    fail "/close reached the backend $(count '"path": "/close"') times, want 2 (one retry)"
[ "$(retries)" = 3 ] || fail "http_retries_total is '$(retries)', want 3"
ok "a retry that fails too: no second retry, 502"
