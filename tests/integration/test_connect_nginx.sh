#!/bin/sh
# "mtls connect" against nginx with ssl_verify_client on: a good client is
# accepted; a client without a certificate is reported as such.  (nginx
# completes the TLS handshake either way and refuses at the HTTP level, so
# the TLS report says that no certificate was sent.)
. "$MTLS_TOP/tests/integration/lib.sh"

command -v nginx >/dev/null 2>&1 || skip "nginx is not installed"
run 0 "$MTLS" init --dir pki
port=$(free_port)
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
		listen 127.0.0.1:$port ssl;
		ssl_certificate $T/pki/server.crt;
		ssl_certificate_key $T/pki/server.key;
		ssl_client_certificate $T/pki/ca/ca.crt;
		ssl_verify_client on;
		ssl_protocols TLSv1.2 TLSv1.3;
		location / { return 200 "hello \$ssl_client_s_dn\n"; }
	}
}
E
nginx -e "$T/ngx/logs/error.log" -c "$T/ngx/nginx.conf" -p "$T/ngx" \
    -g "daemon off; pid $T/ngx/nginx.pid;" >ngx/out.log 2>&1 &
track $!
wait_port "$port"

run 0 "$MTLS" connect "localhost:$port" --cert pki/client.crt \
    --key pki/client.key --ca pki/ca/ca.crt
assert_contains "$T/out" "TLS: handshake complete: TLSv1.3"
assert_contains "$T/out" "0 subject  CN=localhost"
assert_contains "$T/out" "the server asked for one, from this CA:"
assert_contains "$T/out" "the server accepted it"
assert_contains "$T/out" "Result: mutual TLS OK"
ok "nginx: good client accepted"

run 0 "$MTLS" connect "localhost:$port" --cert pki/client.crt \
    --key pki/client.key --ca pki/ca/ca.crt --tls-max 1.2 --trace
assert_contains "$T/out" "<- CertificateRequest: the server asks for a client certificate; CA names: CN=mtls Root CA"
assert_contains "$T/out" "TLSv1.2"
ok "nginx: TLS 1.2 with its CertificateRequest traced"

run 1 "$MTLS" connect "localhost:$port" --ca pki/ca/ca.crt
assert_contains "$T/out" "the server asked for one"
assert_contains "$T/out" "we sent none"
assert_contains "$T/out" "Result: mutual TLS FAILED"
ok "nginx: a client without a certificate is not mutual TLS (exit 1)"
