#!/bin/sh
# The x509-limbo path-validation vectors through "mtls cert verify": every
# case whose features are applied must give the expected verdict; the
# others are counted as skipped.  A SUCCESS where FAILURE is expected fails
# unless tests/integration/limbo.py lists it with its reason, and only for
# a pedantic-* case, at most 5 in all.
. "$MTLS_TOP/tests/integration/lib.sh"

vectors="$MTLS_TOP/../shared/testdata/x509-limbo-2023-12-02.json"
# From a worktree (../wt/iN) the shared directory is one level further up.
[ -f "$vectors" ] || vectors="$MTLS_TOP/../../shared/testdata/x509-limbo-2023-12-02.json"
[ -f "$vectors" ] || skip "x509-limbo vectors not found at $vectors"
command -v python3 >/dev/null || skip "python3 is not installed"

python3 "$MTLS_TOP/tests/integration/limbo.py" "$MTLS" "$vectors" "$T/limbo" \
    >"$T/limbo.out" 2>&1
rc=$?
grep -v '^ok ' "$T/limbo.out"
[ $rc -eq 0 ] || fail "x509-limbo: some verdicts differ (exit $rc)"
# The summary must show cases actually run, and none failed.
assert_contains "$T/limbo.out" " 0 failed,"
passed=$(sed -n 's/^limbo: \([0-9]*\) passed.*/\1/p' "$T/limbo.out")
[ "${passed:-0}" -ge 100 ] || fail "only ${passed:-0} limbo cases passed"
ok "x509-limbo: $(tail -n 1 "$T/limbo.out")"
