#!/bin/sh
# mtls doctor --connect against nginx with ssl_verify_client on: nginx
# completes the TLS handshake whatever the client certificate and refuses it
# in HTTP (400 "The SSL certificate error", its internal 495, or "No
# required SSL certificate was sent", 496).  The doctor must recognise both,
# and say that a good setup is good.
. "$MTLS_TOP/tests/integration/lib.sh"
DOCTOR_OPTS="--timeout 3"
. "$MTLS_TOP/tests/integration/doctor_cases.sh"
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$NGINX" ] || skip "nginx is not installed"

# q CMD...: a setup step, quiet unless it fails.
q() {
	"$@" >/dev/null 2>"$T/setup.err" ||
	    { cat "$T/setup.err"; fail "setup: $*"; }
}
q "$MTLS" init --dir pki
q "$MTLS" ca init --dir other --name "Other CA"

# nginx_start NAME CLIENT-CA: nginx on a free port requiring a client
# certificate issued by CLIENT-CA; sets $port.
nginx_start() {
	name=$1 clientca=$2
	port=$(free_port)
	mkdir -p "$T/$name"
	cat >"$T/$name/nginx.conf" <<EOF
daemon off;
worker_processes 1;
pid $T/$name/nginx.pid;
error_log $T/$name/error.log info;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path $T/$name/body;
    proxy_temp_path $T/$name/proxy;
    fastcgi_temp_path $T/$name/fastcgi;
    uwsgi_temp_path $T/$name/uwsgi;
    scgi_temp_path $T/$name/scgi;
    server {
        listen 127.0.0.1:$port ssl;
        ssl_certificate $T/pki/server.crt;
        ssl_certificate_key $T/pki/server.key;
        ssl_client_certificate $T/$clientca;
        ssl_verify_client on;
        location / { return 200 "hello \$ssl_client_s_dn\n"; }
    }
}
EOF
	"$NGINX" -p "$T/$name" -c "$T/$name/nginx.conf" \
	    >"$T/$name/stdout.log" 2>&1 &
	track $!
	wait_port "$port"
}


CERT="--cert pki/client.crt --key pki/client.key --ca pki/ca/ca.crt"

nginx_start good pki/ca/ca.crt
# shellcheck disable=SC2086
check nginx-healthy 0 ok-client-cert-accepted $CERT \
    --connect "127.0.0.1:$port"
assert_not_contains "$T/out" '"severity": "error"'
check nginx-no-cert 1 client-cert-missing --ca pki/ca/ca.crt \
    --connect "127.0.0.1:$port"
assert_contains "$T/out" "No required SSL certificate"

nginx_start wrongca other/ca.crt
# shellcheck disable=SC2086
check nginx-other-ca 1 http-client-cert-refused $CERT \
    --connect "127.0.0.1:$port"
assert_contains "$T/out" "The SSL certificate error"
assert_contains "$T/out" "client-ca-not-accepted"

check_codes
echo "all $NPASS passed"
