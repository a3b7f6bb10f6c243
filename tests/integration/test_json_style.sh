#!/bin/sh
# One JSON style across commands (mtls(1), JSON OUTPUT): every --json
# output parses, every time is RFC 3339 UTC ("...T...Z") or null, every
# "sans" is a list of {"type", "value"} objects, numbers are numbers.
# Covers cert verify --json (new: the verdict and chain, on success and on
# failure with exit 1), cert inspect, cert list and connect.
. "$MTLS_TOP/tests/integration/lib.sh"
. "$MTLS_TOP/tests/integration/s_server_lib.sh"

run 0 "$MTLS" init --dir pki
run 0 "$MTLS" cert issue --ca pki/ca --client --name alice --uri spiffe://example.org/alice --out alice

cat >"$T/style.py" <<'PY'
import json, re, sys
doc = json.load(open(sys.argv[1]))
TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
TIME_KEYS = {"not_before", "not_after", "this_update", "next_update",
             "revoked_at", "expires", "time"}
NUM_KEYS = {"days_left", "http_status", "duration", "count"}
seen = {"time": 0, "sans": 0}
def walk(v, key=None):
    if isinstance(v, dict):
        for k, x in v.items():
            if k in TIME_KEYS:
                assert x is None or TIME.match(x), (k, x)
                seen["time"] += x is not None
            elif k == "sans":
                assert isinstance(x, list), (k, x)
                for s in x:
                    assert isinstance(s, dict) and set(s) == {"type", "value"}, s
                    seen["sans"] += 1
            elif k in NUM_KEYS:
                assert x is None or isinstance(x, int), (k, x)
            walk(x, k)
    elif isinstance(v, list):
        for x in v:
            walk(x, key)
walk(doc)
assert seen["time"] > 0 and seen["sans"] > 0, seen
print("style ok", seen)
PY
style() { python3 "$T/style.py" "$T/out" >"$T/style.out" 2>&1 || { cat "$T/out" "$T/style.out"; fail "$1: not in the JSON style"; }; }

run 0 "$MTLS" cert verify --json --ca pki/ca/ca.crt --purpose client alice.crt
style "cert verify --json"
python3 - "$T/out" <<'PY' || fail "cert verify --json: wrong verdict"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["ok"] is True and d["error"] is None, d
assert [c["common_name"] for c in d["chain"]][0] == "alice", d
assert {"type": "URI", "value": "spiffe://example.org/alice"} in d["chain"][0]["sans"], d
PY
ok "cert verify --json: ok, the chain with RFC 3339 times and typed SANs"

run 1 "$MTLS" cert verify --json --ca pki/ca/ca.crt --purpose server alice.crt
python3 - "$T/out" <<'PY' || { cat "$T/out"; fail "cert verify --json: failure not reported as JSON"; }
import json, sys
# stdout holds the JSON document; the one-line error goes to stderr.
raw = open(sys.argv[1]).read()
d = json.loads(raw[raw.index("{"):raw.rindex("}") + 1])
assert d["ok"] is False and "server authentication" in d["error"], d
assert d["chain"] == [], d
PY
ok "cert verify --json: a refusal is ok=false with the reason, exit 1"

run 0 "$MTLS" cert inspect --json alice.crt
style "cert inspect --json"
run 0 "$MTLS" cert list --ca pki/ca --json
style "cert list --json"
ok "cert inspect and cert list --json: the same style"

port=$(free_port)
s_server_mtls "$port"
run 0 "$MTLS" connect "localhost:$port" --cert pki/client.crt --key pki/client.key --ca pki/ca/ca.crt --json
style "connect --json"
ok "connect --json: the server chain in the same style"

# A file name that is not UTF-8 (and holds a quote and a newline) in a
# --json report: the document still parses as strict UTF-8 JSON.
bad=$(printf 'no"such\n\377.crt')
"$MTLS" doctor --json --role server --cert "$bad" --key pki/server.key >"$T/out" 2>"$T/err"
python3 - "$T/out" <<'PY' || { cat "$T/out"; fail "doctor --json with an odd file name is not valid JSON"; }
import json, sys
d = json.loads(open(sys.argv[1], "rb").read().decode("utf-8"))
text = json.dumps(d, ensure_ascii=False)
assert "\ufffd" in text and 'no\\"such\\n' in text, text
PY
ok "a file name that is not UTF-8 in doctor --json: still valid UTF-8 JSON"
