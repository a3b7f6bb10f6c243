#!/bin/sh
# nginx run with exactly the server block "mtls config nginx" made (a PKI
# whose clients an intermediate issues, a CRL for each CA): the valid client
# gets through with its identity, everyone else is refused, nobody can
# spoof the identity headers.
. "$MTLS_TOP/tests/integration/lib.sh"
. "$MTLS_TOP/tests/integration/nginx_lib.sh"
. "$MTLS_TOP/tests/integration/config_servers_lib.sh"

nginx_require
SERVER=nginx
config_pki
config_backend
config_make nginx
d=$T/ngx
mkdir -p "$d/tmp"
cat >"$d/nginx.conf" <<NGINX_CONF
daemon off;
worker_processes 1;
pid $d/nginx.pid;
error_log $d/error.log info;
events { worker_connections 64; }
http {
	access_log off;
	client_body_temp_path $d/tmp;
	proxy_temp_path $d/tmp;
	fastcgi_temp_path $d/tmp;
	uwsgi_temp_path $d/tmp;
	scgi_temp_path $d/tmp;
	include $T/snippet.conf;
}
NGINX_CONF
run 0 "$NGINX" -t -e "$d/error.log" -p "$d" -c "$d/nginx.conf"
"$NGINX" -e "$d/error.log" -p "$d" -c "$d/nginx.conf" >"$d/stdout.log" 2>&1 &
track $!
wait_port "$port"
config_scenario

# The client side, as mtls config prints it, against the same nginx.
run 0 "$MTLS" config curl --cert alice.crt --key alice.key \
    --ca pki/ca/ca.crt --url "https://localhost:$port/"
run 0 sh -c "$(cat "$T/out") -sS"
assert_contains "$T/out" "recorded"
run 0 "$MTLS" config requests --cert alice.crt --key alice.key \
    --ca pki/ca/ca.crt --url "https://localhost:$port/"
cp "$T/out" snippet.py
run 0 python3 snippet.py
assert_contains "$T/out" "200 recorded"
run 0 "$MTLS" config openssl --cert alice.crt --key alice.key \
    --ca pki/ca/ca.crt --url "https://localhost:$port/"
run 0 sh -c "$(cat "$T/out") </dev/null"
assert_contains "$T/out" "Verify return code: 0 (ok)"
ok "nginx: the curl, requests and openssl s_client lines of mtls config work as printed"
