#!/bin/sh
# Every finding code of mtls doctor is documented in docs/doctor.md with
# the same explanation and fix as the library's table (mtls doctor
# --list-codes), rendered with its slot names.
. "$MTLS_TOP/tests/integration/lib.sh"

run 0 "$MTLS" doctor --list-codes --json
doc="$MTLS_TOP/docs/doctor.md"
python3 - "$T/out" "$doc" <<'PY' || fail "$doc is out of date"
import json, re, sys
codes = json.load(open(sys.argv[1]))
doc = open(sys.argv[2]).read()
assert len(codes) >= 60, len(codes)
def render(t, slots):
    names = slots.split()
    return re.sub(r'%(\d)',
                  lambda m: "*&lt;" + names[int(m.group(1)) - 1] + "&gt;*", t)
bad = 0
for c in codes:
    want = ["### `%s`\n" % c["code"], "Severity: **%s**." % c["severity"],
            render(c["explanation"], c["slots"])]
    if c["severity"] != "ok":
        want.append("Fix: " + render(c["fix"], c["slots"]))
    for w in want:
        if w not in doc:
            print("%s: docs/doctor.md lacks: %s" % (c["code"], w.strip()))
            bad += 1
sys.exit(1 if bad else 0)
PY
ok "every code documented with the table's texts"
run 0 "$MTLS" doctor --list-codes
assert_contains "$T/out" "key-mismatch (error)"
assert_contains "$T/out" "<key>"
ok "--list-codes text names the slots"
