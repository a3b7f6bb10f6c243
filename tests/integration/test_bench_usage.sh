#!/bin/sh
# mtls bench's usage lists every option it describes in its synopsis (and
# -h works), and on a terminal it shows a progress line that it clears
# before the report; not on a pipe (the report alone, as scripts want).
. "$MTLS_TOP/tests/integration/lib.sh"
. "$MTLS_TOP/tests/integration/s_server_lib.sh"

command -v script >/dev/null || skip "script (util-linux) is not installed"

run 0 "$MTLS" bench -h
cp "$T/out" "$T/help"
# The synopsis: the lines up to the first empty one.
sed '/^$/q' "$T/help" >"$T/synopsis"
opts=$(sed -n 's/^  \(-[a-z], \)\{0,1\}\(--[a-z-]*\).*/\2/p' "$T/help" | sort -u)
[ -n "$opts" ] || fail "no options found in the usage"
n=0
for o in $opts; do
	[ "$o" = --help ] && continue
	grep -q -- "$o" "$T/synopsis" || grep -q -- "$(echo "$o" | sed 's/--connections/-c N/; s/--duration/-d SECONDS/')" "$T/synopsis" ||
	    { cat "$T/synopsis"; fail "bench usage: $o is described but not in the synopsis"; }
	n=$((n + 1))
done
[ "$n" -ge 12 ] || fail "bench usage: only $n options described"
ok "bench usage: the synopsis names all $n options described"

run 0 "$MTLS" init --dir pki
port=$(free_port)
s_server_mtls "$port"
# script(1) gives bench a terminal; its output is the terminal's.
script -qec "\"$MTLS\" bench 127.0.0.1:$port --servername localhost --cert pki/client.crt --key pki/client.key --ca pki/ca/ca.crt -c 2 -d 3" "$T/tty.out" >/dev/null 2>&1 </dev/null
assert_contains "$T/tty.out" "ops/s now"
assert_contains "$T/tty.out" "operations"
# The progress line is cleared (ESC [K) before the report.
grep -q "$(printf '\033\\[K')" "$T/tty.out" || fail "the progress line is not cleared"
ok "bench on a terminal: a progress line, cleared before the report"

run 0 "$MTLS" bench "127.0.0.1:$port" --servername localhost --cert pki/client.crt --key pki/client.key --ca pki/ca/ca.crt -c 2 -d 1
assert_not_contains "$T/out" "ops/s now"
ok "bench on a pipe: no progress line"
