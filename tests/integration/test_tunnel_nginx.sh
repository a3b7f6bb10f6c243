#!/bin/sh
# A program that speaks plain HTTP (curl over http://) reaches an
# mTLS-only nginx (ssl_verify_client on) through mtls tunnel; nginx sees our
# client certificate.  Without the tunnel nginx refuses the same request.
. "$MTLS_TOP/tests/integration/lib.sh"
. "$MTLS_TOP/tests/integration/serve_lib.sh"

command -v nginx >/dev/null 2>&1 || skip "nginx is not installed"
command -v curl >/dev/null 2>&1 || skip "curl is not installed"
make_pki
NPORT=$(free_port)
mkdir -p ngx/logs ngx/tmp
cat >ngx/nginx.conf <<E
worker_processes 1;
error_log $T/ngx/logs/error.log;
events { worker_connections 64; }
http {
	access_log off;
	client_body_temp_path $T/ngx/tmp;
	proxy_temp_path $T/ngx/tmp;
	fastcgi_temp_path $T/ngx/tmp;
	uwsgi_temp_path $T/ngx/tmp;
	scgi_temp_path $T/ngx/tmp;
	server {
		listen 127.0.0.1:$NPORT ssl;
		ssl_certificate $T/pki/server.crt;
		ssl_certificate_key $T/pki/server.key;
		ssl_client_certificate $T/pki/ca/ca.crt;
		ssl_verify_client on;
		ssl_verify_depth 3;
		ssl_protocols TLSv1.2 TLSv1.3;
		location / { return 200 "hello \$ssl_client_s_dn via \$ssl_protocol\n"; }
	}
}
E
nginx -e "$T/ngx/logs/error.log" -c "$T/ngx/nginx.conf" -p "$T/ngx" \
    -g "daemon off; pid $T/ngx/nginx.pid;" >ngx/out.log 2>&1 &
track $!
wait_port "$NPORT"

# Straight to nginx with TLS but no client certificate: refused.
curl -s --cacert pki/ca/ca.crt "https://localhost:$NPORT/" >"$T/direct" 2>&1
assert_contains "$T/direct" "400"
ok "nginx refuses a client without a certificate"

start_tunnel "$NPORT" --servername localhost
run 0 curl -sS --max-time 10 "http://127.0.0.1:$TPORT/"
assert_contains "$T/out" "hello CN=client via TLSv1.3"
run 0 curl -sS --max-time 10 "http://127.0.0.1:$TPORT/again"
assert_contains "$T/out" "hello CN=client"
wait_file_log "$T/tunnel.log" "outcome=ok" 2
assert_contains "$T/tunnel.log" "resumed=yes"
ok "curl over plain http:// reaches the mTLS-only nginx through the tunnel (sessions resumed)"
kill "$TPID"; wait "$TPID" 2>/dev/null

: >"$T/tunnel.log"
MPORT=$(free_port)
start_tunnel "$NPORT" --tls-min 1.3 --log-format json --metrics "127.0.0.1:$MPORT"
run 0 curl -sS --max-time 10 "http://127.0.0.1:$TPORT/"
assert_contains "$T/out" "via TLSv1.3"
wait_file_log "$T/tunnel.log" '"outcome":"ok"'
assert_contains "$T/tunnel.log" "\"upstream\":\"127.0.0.1:$NPORT\""
ok "JSON log lines name the upstream"
run 0 curl -sS --max-time 5 "http://127.0.0.1:$MPORT/metrics"
# (wait_port's probe was a connection too: at least one handshake)
grep -q '^mtls_tunnel_handshakes_total{outcome="ok",reason=""} [1-9]' "$T/out" ||
    { cat "$T/out"; fail "no successful handshake counted"; }
assert_contains "$T/out" 'mtls_tunnel_upstream_errors_total 0'
grep -q '^mtls_tunnel_certificate_expiry_seconds [1-9]' "$T/out" || fail "no client certificate expiry gauge"
ok "--metrics: the tunnel's counters under mtls_tunnel_*"
