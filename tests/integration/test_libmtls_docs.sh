#!/bin/sh
# Every function declared in include/mtls.h is documented in
# docs/libmtls.3 (as .Fn NAME), and every function the page names exists in
# the header: a new public function without documentation, or a page that
# names one that was renamed or removed, fails here.
. "$MTLS_TOP/tests/integration/lib.sh"

python3 - "$MTLS_TOP/include/mtls.h" "$MTLS_TOP/docs/libmtls.3" <<'PY' || fail "libmtls.3 and mtls.h disagree"
import re, sys
header = open(sys.argv[1]).read()
page = open(sys.argv[2]).read()
# Declarations only: comments out, then every identifier followed by "(".
code = re.sub(r"/\*.*?\*/", "", header, flags=re.S)
declared = set(re.findall(r"\b(mtls_[a-z0-9_]+)\s*\(", code))
# Function-pointer typedefs are types, not functions.
declared -= set(re.findall(r"\(\*\s*(mtls_[a-z0-9_]+)\)", code))
# "Fn mtls_peer_*" names a family, not a function.
documented = set(re.findall(r"\bFn (mtls_[a-z0-9_]+)\b(?!\*)", page))
missing = sorted(declared - documented)
stale = sorted(documented - declared)
if len(declared) < 100:
    print("only %d functions found in mtls.h: the parse is broken" % len(declared))
    sys.exit(1)
if missing:
    print("declared in mtls.h but not documented in libmtls.3:", " ".join(missing))
if stale:
    print("named in libmtls.3 but not declared in mtls.h:", " ".join(stale))
sys.exit(1 if missing or stale else 0)
PY
ok "libmtls.3 documents every function of mtls.h, and names no other"
