#!/bin/sh
# The README runs as written: every ```sh block, in order, from a fresh
# directory, against the PKI the blocks themselves create, each command
# exiting 0.  A block preceded by "<!-- readme-test: skip ... -->" (building
# and installing, PostgreSQL, the benchmark harness) is left out, with its
# reason.  The README's fixed ports (8443, 8444, 8080, 9000) become free ones, and
# servers started with "&" are stopped at the end.
. "$MTLS_TOP/tests/integration/lib.sh"

PORT=$(free_port)
BPORT=$(free_port)
TPORT=$(free_port)
HPORT=$(free_port)
mkdir bin fresh
ln -s "$MTLS" bin/mtls
python3 - "$MTLS_TOP/README.md" "$PORT" "$BPORT" "$TPORT" "$HPORT" >readme.sh <<'PY' || fail "cannot extract the README's blocks"
import re, shlex, sys
text = open(sys.argv[1]).read()
port, bport, tport, hport = sys.argv[2:6]
out, skipped, n = [], [], 0
for m in re.finditer(r'(<!-- readme-test: skip ([^>]*) -->\s*\n)?```sh\n(.*?)```', text, re.S):
    if m.group(1):
        skipped.append(m.group(2).strip())
        continue
    n += 1
    block = m.group(3)
    block = block.replace("8443", port).replace("8444", hport)
    block = block.replace("8080", bport).replace("9000", tport)
    out.append("echo '=== README block %d'" % n)
    # A server started in the background: wait for its port before the
    # next command.
    for cmd in re.sub(r'\\\n', ' ', block).splitlines():
        out.append(cmd)
        if re.sub(r'\s+#.*$', '', cmd).rstrip().endswith("&"):
            out.append('PIDS="$PIDS $!"')
            m = re.search(r'--listen [^ ]*:(\d+)|http\.server (\d+)', cmd)
            if m:
                out.append("wait_port %s" % (m.group(1) or m.group(2)))
print("\n".join(out))
print("echo " + shlex.quote("=== %d blocks run, %d skipped: %s" % (n, len(skipped), "; ".join(skipped))))
PY
{
	cat <<'EOF'
# The servers the README starts with "&": stopped by their PIDs however
# the run ends.
PIDS=""
trap 'rc=$?; for p in $PIDS; do kill "$p" 2>/dev/null; done; wait; exit $rc' EXIT
wait_port() {
	i=0
	while [ $i -lt 100 ]; do
		python3 -c "import socket,sys; s=socket.socket(); s.settimeout(0.2); sys.exit(s.connect_ex(('127.0.0.1',$1)))" 2>/dev/null && return 0
		sleep 0.1; i=$((i + 1))
	done
	echo "nothing listens on $1"; return 1
}
EOF
	cat readme.sh
	echo 'echo README-DONE'
} >run.sh
cd fresh || fail "no fresh directory"
# -e: the first command that fails stops the run; -x: it is shown.
PATH="$T/bin:$PATH" timeout 120 sh -ex ../run.sh >"$T/readme.out" 2>&1
rc=$?
cd "$T" || fail "cd"
tail -n 30 "$T/readme.out"
[ $rc -eq 0 ] || fail "the README's blocks stopped with exit $rc (the last command above)"
assert_contains "$T/readme.out" "README-DONE"
grep -q '=== [1-9][0-9]* blocks run' "$T/readme.out" || fail "no README block ran"
ok "$(grep '^=== [0-9]* blocks run' "$T/readme.out" | sed 's/^=== //')"
