# nginx_lib.sh - nginx as a real mutual-TLS server for the integration
# tests.  Source it after lib.sh.
#
# nginx_require: skips the test (77) when nginx is not installed; sets
# $NGINX.  It may be in /usr/sbin, which is not on every user's PATH.
#
# nginx_start NAME CLIENT-CA: nginx in $T/NAME on a free port of 127.0.0.1,
# with $T/pki/server.crt and server.key, TLS 1.2 and 1.3, requiring
# (ssl_verify_client on) a client certificate issued by $T/CLIENT-CA.  It
# completes the handshake whatever the client sends and refuses a missing
# or bad certificate in HTTP (400); an accepted client gets
# "hello <subject DN> via <TLS version>".  NGINX_VERIFY_DEPTH sets
# ssl_verify_depth (default 3).  Sets $port; the process is
# tracked, so it is stopped with the test.

nginx_require() {
	NGINX=$(command -v nginx || echo /usr/sbin/nginx)
	[ -x "$NGINX" ] || skip "nginx is not installed"
}

nginx_start() {
	nginx_dir=$T/$1
	port=$(free_port)
	mkdir -p "$nginx_dir/tmp"
	cat >"$nginx_dir/nginx.conf" <<NGINX_CONF
daemon off;
worker_processes 1;
pid $nginx_dir/nginx.pid;
error_log $nginx_dir/error.log info;
events { worker_connections 64; }
http {
	access_log off;
	client_body_temp_path $nginx_dir/tmp;
	proxy_temp_path $nginx_dir/tmp;
	fastcgi_temp_path $nginx_dir/tmp;
	uwsgi_temp_path $nginx_dir/tmp;
	scgi_temp_path $nginx_dir/tmp;
	server {
		listen 127.0.0.1:$port ssl;
		ssl_certificate $T/pki/server.crt;
		ssl_certificate_key $T/pki/server.key;
		ssl_client_certificate $T/$2;
		ssl_verify_client on;
		ssl_verify_depth ${NGINX_VERIFY_DEPTH:-3};
		ssl_protocols TLSv1.2 TLSv1.3;
		location / {
			return 200 "hello \$ssl_client_s_dn via \$ssl_protocol\n";
		}
	}
}
NGINX_CONF
	"$NGINX" -e "$nginx_dir/error.log" -p "$nginx_dir" \
	    -c "$nginx_dir/nginx.conf" >"$nginx_dir/stdout.log" 2>&1 &
	track $!
	wait_port "$port"
}
