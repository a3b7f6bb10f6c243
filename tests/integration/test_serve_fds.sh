#!/bin/sh
# Nothing leaks: after 1000 connections (allowed, refused, and dropped in
# the middle of the handshake) the proxy holds as many file descriptors as
# before, and its memory does not keep growing (a second round of 1000
# connections adds next to nothing).
. "$MTLS_TOP/tests/integration/lib.sh"
. "$MTLS_TOP/tests/integration/serve_lib.sh"

make_pki
start_backend echo
start_serve --allow-cn client --workers 2
sleep 0.3
fds0=$(ls /proc/"$SPID"/fd | wc -l)

cat >"$T/many.py" <<PY
import socket, ssl, sys
def ctx(cert):
    c = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    c.load_verify_locations("pki/ca/ca.crt")
    if cert:
        c.load_cert_chain(cert + ".crt", cert + ".key")
    return c
good, anon = ctx("pki/client"), ctx(None)
n = int(sys.argv[1])
ok = 0
for i in range(n):
    s = socket.create_connection(("127.0.0.1", $PORT))
    if i % 10 == 9:
        s.sendall(b"\x16\x03\x01\x00")  # a cut ClientHello, then gone
        s.close()
        continue
    c = (good if i % 2 == 0 else anon).wrap_socket(s, server_hostname="localhost")
    try:
        c.sendall(b"ping")
        if c.recv(4) == b"ping":
            ok += 1
    except (ssl.SSLError, OSError):
        pass
    c.close()
print("echoed", ok)
PY
rss() { awk '/^VmRSS/ {print $2}' /proc/"$SPID"/status; }
run 0 python3 "$T/many.py" 1000
assert_contains "$T/out" "echoed 500"
sleep 2.5
fds1=$(ls /proc/"$SPID"/fd | wc -l)
[ "$fds1" -eq "$fds0" ] || { ls -l /proc/"$SPID"/fd; fail "$fds0 descriptors before, $fds1 after 1000 connections"; }
ok "file descriptors back to $fds0 after 1000 connections"
rss1=$(rss)
run 0 python3 "$T/many.py" 1000
sleep 2.5
rss2=$(rss)
fds2=$(ls /proc/"$SPID"/fd | wc -l)
[ "$fds2" -eq "$fds0" ] || fail "$fds0 descriptors before, $fds2 after 2000 connections"
echo "RSS after 1000: ${rss1} kB, after 2000: ${rss2} kB"
[ $((rss2 - rss1)) -lt 8192 ] || fail "memory grew by $((rss2 - rss1)) kB over 1000 more connections"
ok "memory steady: ${rss1} kB after 1000 connections, ${rss2} kB after 2000"
