#!/bin/sh
# testssl.sh against mtls serve with an RSA server key (the key that would
# allow RSA key transport, export and non-forward-secret suites, and expose
# ROBOT and DROWN): only TLS 1.2 and 1.3; no NULL, anonymous, export, LOW,
# 3DES/IDEA or CBC ("obsolete") suite, only AEAD; every TLS 1.2 suite
# forward secret; and no vulnerability reported.  Only the checks that prove
# this run (--protocols --std --fs --renegotiation --vulnerable, --fast),
# about 30 s.  Client-initiated renegotiation, which testssl cannot try
# against a server that requires a client certificate, is refused in
# test_attack_renegotiation.
. "$MTLS_TOP/tests/integration/lib.sh"
. "$MTLS_TOP/tests/integration/serve_lib.sh"
. "$MTLS_TOP/tests/integration/scan_lib.sh"

command -v testssl >/dev/null || skip "testssl.sh is not installed (scripts/install-deps.sh test)"

make_pki
run 0 "$MTLS" cert issue --ca pki/ca --server --name localhost --ip 127.0.0.1 \
    --key-type rsa-2048 --out rsa-server
start_backend http
serve_with rsa-server --allow-cn client

start=$(date +%s)
timeout 300 testssl --quiet --fast --warnings off --color 0 --protocols --std \
    --fs --renegotiation --vulnerable --openssl-timeout 10 \
    --connect-timeout 10 --jsonfile "$T/ts.json" "127.0.0.1:$PORT" \
    >"$T/ts.out" 2>&1
echo "testssl took $(( $(date +%s) - start )) s"
[ -s "$T/ts.json" ] || { cat "$T/ts.out"; fail "testssl wrote no JSON"; }

cat >"$T/check.py" <<'PY'
import json, sys
f = {x["id"]: x for x in json.load(open(sys.argv[1]))}
bad = []
def want(id, text):
    if id not in f:
        bad.append("%s: not reported" % id)
    elif f[id]["finding"] != text and not f[id]["finding"].startswith(text):
        bad.append("%s: %s (expected '%s')" % (id, f[id]["finding"], text))
for p in ("SSLv2", "SSLv3", "TLS1", "TLS1_1"):
    want(p, "not offered")
want("TLS1_2", "offered")
want("TLS1_3", "offered")
for c in ("NULL", "aNULL", "EXPORT", "LOW", "3DES_IDEA", "AVERAGE"):
    want("cipherlist_" + c, "not offered")
want("cipherlist_STRONG", "offered")
want("PFS", "offered")
# Every suite the server accepts (testssl lists them under PFS_ciphers when
# they are forward secret) is TLS 1.3 or ECDHE.
for c in f.get("PFS_ciphers", {}).get("finding", "").split():
    if not (c.startswith("TLS_") or c.startswith("ECDHE-")):
        bad.append("PFS_ciphers: %s" % c)
# Findings testssl cannot make against a server that requires a client
# certificate, or that its local openssl cannot test, are warnings.
untestable = {"engine_problem", "secure_client_renego", "BREACH", "RC4"}
for id, x in f.items():
    sev = x["severity"]
    if sev in ("LOW", "MEDIUM", "HIGH", "CRITICAL"):
        bad.append("%s [%s]: %s" % (id, sev, x["finding"]))
    elif sev == "WARN" and id not in untestable:
        bad.append("%s [WARN]: %s" % (id, x["finding"]))
    elif sev == "WARN":
        print("untestable here: %s: %s" % (id, x["finding"]))
# INFO is testssl's "not applicable" (ticketbleed on a non-HTTP service).
vulns = ("heartbleed", "CCS", "ticketbleed", "ROBOT", "CRIME_TLS", "POODLE_SSL",
         "fallback_SCSV", "SWEET32", "FREAK", "DROWN", "LOGJAM", "BEAST", "LUCKY13",
         "secure_renego")
for v in vulns:
    if v not in f:
        bad.append("%s: not reported" % v)
    elif f[v]["severity"] not in ("OK", "INFO") or "VULNERABLE" in f[v]["finding"]:
        bad.append("%s [%s]: %s" % (v, f[v]["severity"], f[v]["finding"]))
for b in bad:
    print("BAD " + b)
print("%d findings, %d problems" % (len(f), len(bad)))
sys.exit(1 if bad else 0)
PY
python3 "$T/check.py" "$T/ts.json" >"$T/check.out" 2>&1 ||
    { cat "$T/ts.out" "$T/check.out"; fail "testssl reported problems"; }
cat "$T/check.out"
ok "testssl: only TLS 1.2/1.3, AEAD and forward-secret suites only, no vulnerability"
