#!/bin/sh
# The tunnel sandboxes itself as serve does (on by default): /proc/PID/status
# shows no_new_privs and a seccomp filter, the log the Landlock ABI in force
# (or that the kernel has none); it carries bytes intact and reloads inside
# the sandbox; --no-sandbox turns both off.
. "$MTLS_TOP/tests/integration/lib.sh"
. "$MTLS_TOP/tests/integration/serve_lib.sh"

make_pki
start_backend sha
start_serve --allow-cn client
start_tunnel "$PORT"
wait_file_log "$T/tunnel.log" "sandbox: "
assert_sandboxed "$TPID" "$T/tunnel.log"
grep -q "sandbox: Landlock ABI" "$T/tunnel.log" ||
    assert_contains "$T/tunnel.log" "sandbox: Landlock is not available"
run 0 python3 "$PLAIN_CLIENT" "$TPORT" sha 1000000
ok "the sandboxed tunnel carries 1 MB intact (no_new_privs, seccomp, Landlock logged)"

kill -HUP "$TPID"
wait_file_log "$T/tunnel.log" "reloaded the configuration (SIGHUP)"
run 0 python3 "$PLAIN_CLIENT" "$TPORT" sha 1000
ok "it reloads its files inside the sandbox and goes on"
kill "$TPID"; wait "$TPID" 2>/dev/null
: >"$T/tunnel.log"

start_tunnel "$PORT" --no-sandbox
wait_file_log "$T/tunnel.log" "listening on"
grep -q '^Seccomp:[[:space:]]*0' /proc/"$TPID"/status || fail "--no-sandbox still has a seccomp filter"
assert_not_contains "$T/tunnel.log" "sandbox:"
run 0 python3 "$PLAIN_CLIENT" "$TPORT" sha 1000
ok "--no-sandbox: no filter, no Landlock, and it carries bytes"
