#!/bin/sh
# mtls demo runs the whole journey and says what happened: the allowed
# client is named by the backend, the other two are refused with the
# reason, and nothing is left behind.
. "$MTLS_TOP/tests/integration/lib.sh"

export TMPDIR="$T"
run 0 "$MTLS" demo
assert_contains "$T/out" "the backend answered:"
assert_contains "$T/out" "hello demo-client: the proxy verified your certificate"
ok "the allowed client reaches the backend, which names it"
assert_contains "$T/out" "TLS alert certificate_required"
assert_contains "$T/out" 'reason="no client certificate"'
ok "a client without a certificate is refused with the reason"
assert_contains "$T/out" "TLS alert unknown_ca"
assert_contains "$T/out" 'reason="unknown CA'
ok "a client from another CA is refused with the reason"
ls "$T" | grep -q 'mtls-demo' && fail "the demo left its temp dir behind"
ok "the demo removed its temp dir"
