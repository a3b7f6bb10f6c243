#!/bin/sh
# serve --http and absolute-form request targets (RFC 9112 3.2.2): a server
# must accept "GET http://host/path HTTP/1.1"; the target's authority
# replaces Host (whatever Host the client sent), the backend gets the
# origin-form, and the authority is what must name the SNI's server (421
# otherwise).  Userinfo and other schemes are refused with 400.
. "$MTLS_TOP/tests/integration/lib.sh"
. "$MTLS_TOP/tests/integration/serve_lib.sh"
. "$MTLS_TOP/tests/integration/http_lib.sh"

make_pki
start_http_backend
start_serve --http --allow-any --workers 1

# curl sends the target as given and its own Host (localhost:PORT); a
# forged Host is replaced too.
curl_mtls -o "$T/out" -w '%{http_code}\n' \
    --request-target "http://localhost:$PORT/abs/p?q=1" \
    "https://localhost:$PORT/" >"$T/code"
assert_contains "$T/code" "200"
assert_contains "$T/http.log" '"path": "/abs/p?q=1"'
assert_contains "$T/http.log" "[\"Host\", \"localhost:$PORT\"]"
: >"$T/http.log"
curl_mtls -o "$T/out" -w '%{http_code}\n' -H 'Host: evil.example' \
    --request-target "HTTPS://localhost?x" "https://localhost:$PORT/" \
    >"$T/code"
assert_contains "$T/code" "200"
assert_contains "$T/http.log" '"path": "/?x"'
assert_contains "$T/http.log" '["Host", "localhost"]'
assert_not_contains "$T/http.log" 'evil.example'
grep -o '"Host"' "$T/http.log" | wc -l | grep -qx 1 ||
    fail "more than one Host field reached the backend"
ok "absolute-form: 200, the backend gets the origin-form path and the target's authority as its one Host"

# The authority, not Host, must name the server the client reached.
: >"$T/http.log"
curl_mtls -o "$T/out" -w '%{http_code}\n' \
    --request-target "http://other.example/x" "https://localhost:$PORT/" \
    >"$T/code"
assert_contains "$T/code" "421"
for t in "http://user@localhost/x" "ftp://localhost/x" "http:///x" \
    "http://localhost:8x/"; do
	curl_mtls -o "$T/out" -w '%{http_code}\n' --request-target "$t" \
	    "https://localhost:$PORT/" >"$T/code"
	assert_contains "$T/code" "400"
done
[ -s "$T/http.log" ] && { cat "$T/http.log"; fail "a refused request reached the backend"; }
wait_log 'reason="userinfo or fragment in an absolute request-target"'
ok "absolute-form naming another server: 421; userinfo, another scheme, no host, a bad port: 400, none forwarded"
