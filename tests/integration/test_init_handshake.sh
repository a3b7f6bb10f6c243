#!/bin/sh
# "mtls init" makes a PKI that real peers accept for mutual TLS: openssl
# s_server requiring a client certificate with curl, and python's ssl module
# on both sides.
. "$MTLS_TOP/tests/integration/lib.sh"

run 0 "$MTLS" init --dir pki
cp "$T/out" init.out
for f in pki/ca/ca.crt pki/ca/ca.key pki/server.crt pki/server.key \
    pki/client.crt pki/client.key; do
	assert_file "$f"
done
assert_mode pki/ca/ca.key 600
assert_mode pki/server.key 600
assert_mode pki/client.key 600
assert_contains "$T/out" "mtls serve --listen 127.0.0.1:8443 --cert pki/server.crt --key pki/server.key --ca pki/ca/ca.crt --backend 127.0.0.1:8080 --allow-cn client"
assert_contains "$T/out" "curl --cert pki/client.crt --key pki/client.key --cacert pki/ca/ca.crt https://localhost:8443/"
assert_contains "$T/out" "openssl s_server -accept 8443 -cert pki/server.crt -key pki/server.key -CAfile pki/ca/ca.crt -Verify 1 -verify_return_error -www"
ok "init wrote the PKI (keys 0600) and printed the commands"

openssl x509 -in pki/server.crt -noout -text >srv.txt
assert_contains srv.txt "DNS:localhost"
assert_contains srv.txt "IP Address:127.0.0.1"
assert_contains srv.txt "IP Address:0:0:0:0:0:0:0:1"
openssl x509 -in pki/client.crt -noout -subject >cli.txt
assert_contains cli.txt "CN = client"
ok "server names localhost, 127.0.0.1, ::1; client CN=client"

# Run again: refused, nothing changed.
sum=$(cat pki/ca/ca.key pki/server.crt | cksum)
run 1 "$MTLS" init --dir pki
assert_one_line_error "already holds a PKI"
[ "$(cat pki/ca/ca.key pki/server.crt | cksum)" = "$sum" ] || fail "init changed an existing PKI"
ok "init refuses a directory that holds a PKI"

port=$(free_port)
openssl s_server -accept "127.0.0.1:$port" -cert pki/server.crt \
    -key pki/server.key -CAfile pki/ca/ca.crt -Verify 1 \
    -verify_return_error -www >s_server.log 2>&1 &
track $!
wait_port "$port"

run 0 curl -sS --cert pki/client.crt --key pki/client.key \
    --cacert pki/ca/ca.crt "https://localhost:$port/"
assert_contains "$T/out" "Client certificate"
# s_server -www shows the certificate the client presented.
sed -n '/BEGIN CERTIFICATE/,/END CERTIFICATE/p' "$T/out" >peer.pem
openssl x509 -in peer.pem -noout -subject | grep -q "CN = client" ||
    fail "s_server did not see the client certificate"
run 0 curl -sS --cert pki/client.crt --key pki/client.key \
    --cacert pki/ca/ca.crt "https://127.0.0.1:$port/"
assert_contains "$T/out" "Client certificate"
ok "curl with the client certificate reaches s_server (localhost and 127.0.0.1)"

if curl -sS --cacert pki/ca/ca.crt "https://localhost:$port/" >nocert.out 2>nocert.err; then
	cat nocert.out
	fail "curl without a client certificate succeeded"
fi
ok "curl without a client certificate is refused"

python3 - "$port" <<'PY' || fail "python ssl client failed"
import socket, ssl, sys
port = int(sys.argv[1])
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)   # check_hostname, CERT_REQUIRED
ctx.load_verify_locations("pki/ca/ca.crt")
ctx.load_cert_chain("pki/client.crt", "pki/client.key")
assert ctx.check_hostname
with socket.create_connection(("127.0.0.1", port)) as raw:
    with ctx.wrap_socket(raw, server_hostname="localhost") as s:
        s.sendall(b"GET / HTTP/1.0\r\n\r\n")
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
assert b"Client certificate" in data, data[:400]
PY
ok "python ssl client (check_hostname localhost, client cert) connects"

python3 <<'PY' || fail "python ssl server did not accept the client certificate"
import socket, ssl, threading
srv = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
srv.verify_mode = ssl.CERT_REQUIRED
srv.load_cert_chain("pki/server.crt", "pki/server.key")
srv.load_verify_locations("pki/ca/ca.crt")
ls = socket.socket()
ls.bind(("127.0.0.1", 0))
ls.listen(1)
port = ls.getsockname()[1]
seen = {}
def serve():
    conn, _ = ls.accept()
    conn.settimeout(10)
    try:
        with srv.wrap_socket(conn, server_side=True) as s:
            seen["peer"] = s.getpeercert()
            s.sendall(b"hello")
    except Exception as e:
        seen["error"] = repr(e)
t = threading.Thread(target=serve)
t.start()
cli = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
cli.load_verify_locations("pki/ca/ca.crt")
cli.load_cert_chain("pki/client.crt", "pki/client.key")
with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
    with cli.wrap_socket(raw, server_hostname="localhost") as s:
        assert s.recv(5) == b"hello"
t.join(10)
ls.close()
assert "error" not in seen, seen
subject = dict(x[0] for x in seen["peer"]["subject"])
assert subject["commonName"] == "client", seen
PY
ok "python ssl server (CERT_REQUIRED) accepts the client certificate"

# The printed commands themselves work, as printed (ports aside).
if "$MTLS" serve --help >/dev/null 2>&1; then
	bport=$(free_port)
	sport=$(free_port)
	cmd_of() { grep -m1 "^  $1 " init.out | sed "s/^ *//; s/8443/$sport/g; s/8080/$bport/g"; }
	backend=$(cmd_of python3)
	serve=$(cmd_of mtls)
	curlcmd=$(cmd_of curl)
	[ -n "$backend" ] && [ -n "$serve" ] && [ -n "$curlcmd" ] ||
	    fail "init did not print the backend, serve and curl commands"
	mkdir www && echo "hello through mtls" >www/index.html
	(cd www && exec $backend) >backend.log 2>&1 &
	track $!
	serve=$(printf '%s' "$serve" | sed "s|^mtls |$MTLS |")
	$serve >serve.log 2>&1 &
	track $!
	wait_port "$bport"
	wait_port "$sport"
	run 0 sh -c "$curlcmd -sS"
	assert_contains "$T/out" "hello through mtls"
	ok "the printed backend, serve and curl commands work as printed"
fi

# A failed init leaves nothing behind: with a 1 KiB file size limit the
# CA's inventory (SQLite pages of 4 KiB) cannot be written.
run 1 sh -c 'trap "" XFSZ; ulimit -f 2; exec "$0" init --dir big' "$MTLS"
[ "$(wc -l <"$T/err")" -eq 1 ] || { cat "$T/err"; fail "expected one line on stderr"; }
assert_no_file big
ok "a failed init removes what it made"
