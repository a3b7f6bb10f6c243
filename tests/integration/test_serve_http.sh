#!/bin/sh
# serve --http with real clients: curl and python3 requests over TLS 1.2 and
# 1.3 to a backend that records every byte; 100 requests on one kept-alive
# connection each with its identity; pipelining in order; Expect:
# 100-continue; HEAD; an answer ended by the backend's close; Upgrade only
# after the backend's 101; 502 and 504 as real answers; one log line per
# request and metrics by status class.
. "$MTLS_TOP/tests/integration/lib.sh"
. "$MTLS_TOP/tests/integration/serve_lib.sh"
. "$MTLS_TOP/tests/integration/http_lib.sh"

make_pki
start_http_backend
MPORT=$(free_port)
start_serve --http --allow-any --workers 1 --http-timeout 2 \
    --metrics "127.0.0.1:$MPORT"
wait_port "$MPORT"

for v in 1.2 1.3; do
	: >"$T/http.log"
	curl_mtls --tls-max "$v" "https://localhost:$PORT/c$v" \
	    -H 'X-Forwarded-Client-Cert: By=evil;Hash=00' -d 'a=1' >"$T/out" ||
	    fail "curl over TLS $v"
	assert_contains "$T/out" "\"path\": \"/c$v\""
	assert_contains "$T/http.log" '"X-Forwarded-Client-Cert", "Hash='
	assert_contains "$T/http.log" 'Subject=\"CN=client\"'
	assert_contains "$T/http.log" '"X-Forwarded-Proto", "https"'
	assert_contains "$T/http.log" '"body": "613d31"'
	assert_not_contains "$T/http.log" 'evil'
done
ok "curl over TLS 1.2 and 1.3: the backend gets the body and the proxy's XFCC, not the client's"

cat >"$T/req.py" <<PY
import requests, sys
s = requests.Session()
s.trust_env = False  # REQUESTS_CA_BUNDLE would override verify
s.verify = "pki/ca/ca.crt"
s.cert = ("pki/client.crt", "pki/client.key")
r = s.post("https://localhost:$PORT/req", data=b"x" * 200000,
           headers={"Client_Cert": ":AAAA:"})
assert r.status_code == 200, r.status_code
j = r.json()
assert j["body_len"] == 200000, j["body_len"]
names = [k.lower().replace("_", "-") for k, v in j["headers"]]
assert names.count("client-cert") == 1, names
assert ":AAAA:" not in str(j["headers"])
r = s.post("https://localhost:$PORT/chunked", data=iter([b"ab", b"cd" * 40000]))
assert r.status_code == 200 and r.json()["body_len"] == 80002, r.text
print("requests ok")
PY
run 0 timeout 60 python3 "$T/req.py"
assert_contains "$T/out" "requests ok"
ok "python requests: a 200 kB body and a chunked upload arrive whole; Client_Cert from the client is replaced"

probe keepalive pki/client 100
probe pipeline pki/client
probe upgrade pki/client

: >"$T/http.log"
curl_mtls -H 'Expect: 100-continue' --data-binary @"$MTLS_TOP/README.md" \
    "https://localhost:$PORT/continue" -w '%{http_code}\n' -o "$T/out" >"$T/code"
assert_contains "$T/code" "200"
assert_not_contains "$T/http.log" '"Expect"'
size=$(wc -c <"$MTLS_TOP/README.md")
assert_contains "$T/out" "\"body_len\": $size"
ok "Expect: 100-continue: the proxy says 100 itself and the body follows"

curl_mtls -I "https://localhost:$PORT/head" >"$T/out"
assert_contains "$T/out" "HTTP/1.1 200"
curl_mtls "https://localhost:$PORT/eof" >"$T/out"
assert_contains "$T/out" '"path": "/eof"'
ok "HEAD (no body whatever Content-Length says) and an answer ended by the backend's close"

curl_mtls -s -o "$T/out" -w '%{http_code}\n' "https://localhost:$PORT/close" >"$T/code"
assert_contains "$T/code" "502"
curl_mtls -s -o "$T/out" -w '%{http_code}\n' "https://localhost:$PORT/slow" >"$T/code"
assert_contains "$T/code" "504"
wait_log 'reason="no answer from the backend within 2s"'
assert_contains "$T/serve.log" 'status=502'
ok "a backend that closes before answering gets the client a 502, one that stalls a 504"

curl_mtls -s -o /dev/null -w '%{http_code}\n' -X CONNECT "https://localhost:$PORT/x" >"$T/code"
assert_contains "$T/code" "405"
ok "CONNECT is refused with 405"

wait_log 'request=GET path="/head"' 0
assert_contains "$T/serve.log" 'request=POST path="/c1.3" status=200'
assert_contains "$T/serve.log" 'identity="CN=client" upstream_time='
curl -s "http://127.0.0.1:$MPORT/metrics" >"$T/metrics"
assert_contains "$T/metrics" 'mtls_serve_http_requests_total{class="2xx"}'
assert_contains "$T/metrics" 'mtls_serve_http_requests_total{class="5xx"} 2'
assert_contains "$T/metrics" 'mtls_serve_http_requests_total{class="4xx"} 1'
ok "one log line per request (method, path, status, bytes, identity, upstream time) and metrics by class"

# The backend is gone: 502, said so, not an empty reply.
kill "$SPID"; wait "$SPID" 2>/dev/null
BPORT=$(free_port)
start_serve --http --allow-any --workers 1
curl_mtls -s -o "$T/out" -w '%{http_code}\n' "https://localhost:$PORT/x" >"$T/code"
assert_contains "$T/code" "502"
assert_contains "$T/out" "502 Bad Gateway"
wait_log 'outcome=backend_error'
ok "no backend listening: 502 Bad Gateway, logged as backend_error"
