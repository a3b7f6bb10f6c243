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
