#!/bin/sh
# The status page at the metrics address: headless Chromium loads "/"
# while mtls bench puts load on one service and after a client was refused
# by another; the DOM holds both services' names, handshake counts above
# zero, the refusal's reason and the certificate's days to expiry (the
# number openssl gives), and a screenshot is taken.  The page is complete
# without JavaScript (the HTML as served); /status.json is valid JSON and
# agrees with /metrics.
. "$MTLS_TOP/tests/integration/lib.sh"
. "$MTLS_TOP/tests/integration/serve_lib.sh"
. "$MTLS_TOP/tests/integration/config_lib.sh"

command -v chromium >/dev/null || skip "chromium is not installed"
make_pki
BE=$(backend_on echo be.log)
PA=$(free_port); PW=$(free_port); MP=$(free_port)
cat >mtls.yaml <<YAML
metrics: 127.0.0.1:$MP
services:
  api:
    listen: 127.0.0.1:$PA
    cert: pki/server.crt
    key: pki/server.key
    ca: pki/ca/ca.crt
    backend: 127.0.0.1:$BE
    allow: { cn: client }
  web:
    listen: 127.0.0.1:$PW
    cert: pki/server.crt
    key: pki/server.key
    ca: pki/ca/ca.crt
    backend: 127.0.0.1:$BE
    allow: { cn: nobody }
YAML
start_config mtls.yaml
wait_port "$PA"; wait_port "$PW"; wait_port "$MP"

! client_to "$PW" pki/client || fail "the web service let in a client no rule allows"
"$MTLS" bench "127.0.0.1:$PA" --cert pki/client.crt --key pki/client.key \
    --ca pki/ca/ca.crt -c 4 -d 6 >bench.out 2>&1 &
BENCH=$!
track $BENCH
sleep 2

chrome() {
	timeout 60 chromium --headless --no-sandbox --disable-gpu \
	    --user-data-dir="$T/chrome" --window-size=1200,800 "$@" \
	    "http://127.0.0.1:$MP/" 2>>"$T/chrome.log"
}
chrome --dump-dom >dom.html || { tail "$T/chrome.log"; fail "chromium could not load the status page"; }
chrome --screenshot="$T/status.png" >/dev/null || fail "chromium could not take a screenshot"
wait $BENCH || { cat bench.out; fail "mtls bench failed"; }

assert_contains dom.html '<section class="svc" data-name="api">'
assert_contains dom.html '<section class="svc" data-name="web">'
full=$(grep -o 'data-name="api".*' dom.html | grep -o '<b class="full">[0-9]*' | head -n 1 | grep -o '[0-9]*$')
[ -n "$full" ] && [ "$full" -gt 0 ] || fail "the api service shows no full handshakes during the load ($full)"
grep -q 'data-name="web".*<td class="reason">access_denied</td><td>1</td>' dom.html ||
    fail "the web service's refusal (access_denied, 1) is not on the page"
grep -q 'data-name="web".*no rule allows CN=client' dom.html ||
    fail "the refused identity is not on the page"
end=$(date -d "$(openssl x509 -in pki/server.crt -noout -enddate | cut -d= -f2)" +%s)
days=$(( (end - $(date +%s)) / 86400 ))
grep -q "<td>server</td><td>pki/server.crt</td><td class=\"days\">$days days</td>" dom.html ||
    fail "the server certificate's expiry ($days days) is not on the page"
python3 -c 'import sys; d=open(sys.argv[1],"rb").read(); sys.exit(0 if d[:8]==b"\x89PNG\r\n\x1a\n" and len(d)>10000 else 1)' "$T/status.png" ||
    fail "the screenshot is not a PNG"
ok "Chromium shows the services, handshakes during the load, the refusal with its reason and identity, the expiry in days; screenshot taken"

curl -s "http://127.0.0.1:$MP/" >plain.html
assert_contains plain.html '<td class="reason">access_denied</td>'
assert_contains plain.html "<td class=\"days\">$days days</td>"
assert_not_contains plain.html 'src="http'
assert_not_contains plain.html 'href="http'
ok "the page as served (no JavaScript) has the same facts and loads nothing from elsewhere"

# Quiet now: the JSON and the metrics must say the same.
curl -s "http://127.0.0.1:$MP/status.json" >status.json
curl -s "http://127.0.0.1:$MP/metrics" >metrics.txt
python3 - status.json metrics.txt <<'PY' || fail "/status.json does not agree with /metrics"
import json, re, sys
d = json.load(open(sys.argv[1]))
m = {}
for line in open(sys.argv[2]):
    if line.startswith("#") or not line.strip():
        continue
    k, v = line.rsplit(" ", 1)
    m[k] = float(v)
svc = {s["name"]: s for s in d["services"]}
assert set(svc) == {"api", "web"}, svc.keys()
for n, s in svc.items():
    assert m['mtls_handshakes_total{service="%s",kind="full"}' % n] == s["handshakes"]["full"], n
    assert m['mtls_handshakes_total{service="%s",kind="resumed"}' % n] == s["handshakes"]["resumed"], n
    assert m['mtls_active_connections{service="%s"}' % n] == s["active"], n
    for r, c in s["refusals_5m"].items():
        assert m['mtls_handshake_failures_total{service="%s",reason="%s"}' % (n, r)] == c, (n, r)
    for c in s["certificates"]:
        assert m['mtls_certificate_expiration_timestamp_seconds{service="%s",role="%s"}' % (n, c["role"])] == c["expires"], c
assert svc["api"]["handshakes"]["full"] > 0
assert svc["web"]["refusals_5m"] == {"access_denied": 1}, svc["web"]["refusals_5m"]
assert svc["api"]["top_clients"][0]["who"] == "CN=client"
PY
ok "/status.json is valid JSON and agrees with /metrics"
