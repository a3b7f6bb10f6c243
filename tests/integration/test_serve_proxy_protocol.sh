#!/bin/sh
# --proxy-protocol: the PROXY v2 header is read by a real parser, nginx
# (listen ... proxy_protocol), which sees the client's address and port;
# and the SSL TLV (which nginx's http module does not expose) is parsed by
# the test backend: verified client certificate, CN, version, cipher, and
# the algorithms of the proxy's certificate.
. "$MTLS_TOP/tests/integration/lib.sh"
. "$MTLS_TOP/tests/integration/serve_lib.sh"

make_pki
command -v nginx >/dev/null || skip "nginx is not installed"
NPORT=$(free_port)
mkdir -p "$T/nginx"
cat >"$T/nginx.conf" <<NGX
worker_processes 1;
master_process off;
daemon off;
pid $T/nginx/nginx.pid;
error_log $T/nginx/error.log;
events { worker_connections 64; }
http {
    access_log $T/nginx/access.log;
    client_body_temp_path $T/nginx/body;
    proxy_temp_path $T/nginx/proxy;
    fastcgi_temp_path $T/nginx/fastcgi;
    uwsgi_temp_path $T/nginx/uwsgi;
    scgi_temp_path $T/nginx/scgi;
    server {
        listen 127.0.0.1:$NPORT proxy_protocol;
        location / {
            return 200 "nginx: client \$proxy_protocol_addr port \$proxy_protocol_port\n";
        }
    }
}
NGX
nginx -t -c "$T/nginx.conf" -p "$T/nginx" >"$T/nginx-t.out" 2>&1 || { cat "$T/nginx-t.out"; fail "nginx rejects the configuration"; }
nginx -c "$T/nginx.conf" -p "$T/nginx" &
track $!
wait_port "$NPORT"
BPORT=$NPORT
start_serve --allow-cn client --proxy-protocol
run 0 curl -sS --max-time 10 --cacert pki/ca/ca.crt --cert pki/client.crt \
    --key pki/client.key -w 'local %{local_port}\n' "https://localhost:$PORT/"
lport=$(sed -n 's/^local //p' "$T/out")
assert_contains "$T/out" "nginx: client 127.0.0.1 port $lport"
ok "nginx parses the PROXY v2 header: client 127.0.0.1 port $lport"
kill "$SPID"; wait "$SPID" 2>/dev/null

start_backend pp2
start_serve --allow-cn client --proxy-protocol
s_client pki/client
assert_contains "$T/sc.out" "ping"
i=0
while ! grep -q '^pp2' "$T/backend.log" && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
cat "$T/backend.log"
assert_contains "$T/backend.log" '"cn": "client"'
assert_contains "$T/backend.log" '"verify": 0'
assert_contains "$T/backend.log" '"client": 7'
assert_contains "$T/backend.log" '"version": "TLSv1.3"'
assert_contains "$T/backend.log" '"cipher": "TLS_'
assert_contains "$T/backend.log" '"key_alg": "EC256"'
assert_contains "$T/backend.log" '"sig_alg": "ecdsa-with-SHA256"'
assert_contains "$T/backend.log" '"src": "127.0.0.1:'
assert_contains "$T/backend.log" "\"dst\": \"127.0.0.1:$PORT\""
ok "the SSL TLV carries the verified CN, version, cipher and algorithms"

kill "$SPID"; wait "$SPID" 2>/dev/null
: >"$T/backend.log"
# Whether this machine has an IPv6 loopback is decided before serve starts,
# so that a slow start (valgrind, a loaded machine) cannot skip the case.
if python3 -c "import socket; socket.socket(socket.AF_INET6).bind(('::1', 0))" 2>/dev/null; then
	PORT=$(free_port)
	mtls_cmd serve --listen "[::1]:$PORT" --cert pki/server.crt --key pki/server.key \
	    --ca pki/ca/ca.crt --backend "127.0.0.1:$BPORT" --allow-cn client \
	    --proxy-protocol 2>>"$T/serve.log" &
	SPID=$!
	track $SPID
	i=0
	until python3 -c "import socket,sys; s=socket.socket(socket.AF_INET6); s.settimeout(0.2); sys.exit(s.connect_ex(('::1', $PORT)))" 2>/dev/null; do
		kill -0 "$SPID" 2>/dev/null || { cat "$T/serve.log"; fail "serve on [::1] exited"; }
		[ $i -lt 200 ] || fail "nothing listens on [::1]:$PORT after 20 s"
		sleep 0.1; i=$((i + 1))
	done
	# s_client hangs up when its input ends: long enough for the echo
	# under valgrind.
	(printf 'ping\n'; sleep 3) | timeout 10 openssl s_client -connect "[::1]:$PORT" \
	    -CAfile pki/ca/ca.crt -cert pki/client.crt -key pki/client.key >"$T/sc.out" 2>&1
	assert_contains "$T/sc.out" "ping"
	i=0
	while ! grep -q '^pp2' "$T/backend.log" && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
	assert_contains "$T/backend.log" '"src": "[::1]:'
	assert_contains "$T/backend.log" '"fam": 33'
	ok "an IPv6 client is sent as TCP6"
else
	echo "no IPv6 loopback here: IPv6 case not run"
fi
