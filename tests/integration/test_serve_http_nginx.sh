#!/bin/sh
# serve --http in front of nginx (a plain proxy_pass-style backend that
# logs $http_x_forwarded_client_cert and $http_client_cert): nginx logs
# the proxy's XFCC and Client-Cert for each request, never the client's,
# over one kept-alive backend connection.
. "$MTLS_TOP/tests/integration/lib.sh"
. "$MTLS_TOP/tests/integration/serve_lib.sh"
. "$MTLS_TOP/tests/integration/nginx_lib.sh"
. "$MTLS_TOP/tests/integration/http_lib.sh"
nginx_require

make_pki
BPORT=$(free_port)
nd=$T/nginx
mkdir -p "$nd/tmp"
cat >"$nd/nginx.conf" <<NGINX_CONF
daemon off;
worker_processes 1;
pid $nd/nginx.pid;
error_log $nd/error.log info;
events { worker_connections 64; }
http {
	log_format ident '\$request_uri|\$connection|\$http_x_forwarded_client_cert|\$http_client_cert|\$http_x_forwarded_for';
	access_log $nd/access.log ident;
	client_body_temp_path $nd/tmp;
	proxy_temp_path $nd/tmp;
	fastcgi_temp_path $nd/tmp;
	uwsgi_temp_path $nd/tmp;
	scgi_temp_path $nd/tmp;
	server {
		listen 127.0.0.1:$BPORT;
		location / { return 200 "nginx saw \$http_x_forwarded_client_cert\n"; }
	}
}
NGINX_CONF
"$NGINX" -e "$nd/error.log" -p "$nd" -c "$nd/nginx.conf" >"$nd/stdout.log" 2>&1 &
track $!
wait_port "$BPORT"
start_serve --http --allow-any --workers 1

curl_mtls "https://localhost:$PORT/one" -H 'X-Forwarded-Client-Cert: Hash=spoofed' \
    "https://localhost:$PORT/two" -H 'Client-Cert: :c3Bvb2Y=:' >"$T/out" ||
    fail "curl through serve to nginx"
assert_contains "$T/out" 'nginx saw Hash='
assert_not_contains "$T/out" 'spoofed'
i=0
while [ "$(wc -l <"$nd/access.log")" -lt 2 ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
assert_contains "$nd/access.log" '/one|'
assert_contains "$nd/access.log" 'Subject=\x22CN=client\x22|:MII'
assert_contains "$nd/access.log" '|127.0.0.1'
assert_not_contains "$nd/access.log" 'spoofed'
assert_not_contains "$nd/access.log" 'c3Bvb2Y='
c1=$(sed -n 1p "$nd/access.log" | cut -d'|' -f2)
c2=$(sed -n 2p "$nd/access.log" | cut -d'|' -f2)
[ "$c1" = "$c2" ] || fail "nginx saw two connections ($c1, $c2) for two kept-alive requests"
ok "nginx as the backend logs the proxy's XFCC and Client-Cert, never the client's, on one kept-alive connection"
