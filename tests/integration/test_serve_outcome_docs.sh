#!/bin/sh
# Every connection outcome that serve and tunnel log (outcome=NAME) is
# listed in mtls.1 with what it means: the names a user greps the log for
# are the ones the manual explains.
. "$MTLS_TOP/tests/integration/lib.sh"

python3 - "$MTLS_TOP/src/proxy" "$MTLS_TOP/docs/mtls.1" <<'PY' || fail "docs/mtls.1 lacks connection outcomes"
import re, sys
src, man = sys.argv[1], open(sys.argv[2]).read()
names = set()
# The connection code of serve and tunnel (not ca serve's EST log).
for f in (src + "/conn.c", src + "/http_conn.c"):
    text = open(f).read()
    # conn_fail(c, "name", ...), conn_outcome(c, "name", ...)
    names |= set(re.findall(r'conn_(?:fail|outcome)\(\s*c,\s*"([a-z_]+)"', text))
    # outcome = "name"; c->outcome = why != NULL ? "a" : "b";
    for rhs in re.findall(r'outcome\s*=\s*([^;]+);', text):
        names |= set(re.findall(r'"([a-z_]+)"', rhs))
    # the side failures: return conn_fail(c, "upstream_error", ...)
    names |= set(re.findall(r'"([a-z]+_error)"', text))
documented = set()
for line in man.splitlines():
    if line.startswith(".It Li "):
        documented |= set(w for w in re.split(r"[ ,]+", line[7:]) if w)
missing = sorted(names - documented)
print("outcomes in the code:", " ".join(sorted(names)))
if len(names) < 9:
    print("found only %d outcome names: the pattern no longer matches the code" % len(names))
    sys.exit(1)
for n in missing:
    print("docs/mtls.1 has no '.It Li %s'" % n)
sys.exit(1 if missing else 0)
PY
ok "every outcome in src/proxy is listed in mtls.1"
