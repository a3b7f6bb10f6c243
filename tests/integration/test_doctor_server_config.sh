#!/bin/sh
# mtls doctor --server-config: a table of nginx, Apache httpd and HAProxy
# configurations, each with the trap it holds and the finding code that
# must name it (or "none": no error), and each also given to the real
# server's own check (nginx -t, apache2 -t, haproxy -c) to prove that it is
# what that server accepts (ok), or that the server refuses it too (bad).
. "$MTLS_TOP/tests/integration/lib.sh"
. "$MTLS_TOP/tests/integration/doctor_cases.sh"
. "$MTLS_TOP/tests/integration/apache_lib.sh"

NGINX=$(command -v nginx || echo /usr/sbin/nginx)
HAPROXY=$(command -v haproxy || echo /usr/sbin/haproxy)
APACHE=$(command -v apache2 || echo /usr/sbin/apache2)
APACHE_MODS=/usr/lib/apache2/modules

# The PKI: root (pki/ca) <- "Team CA" (int), which issues alice;
# "Other CA" unrelated; a CRL of each CA.
q "$MTLS" init --dir pki
q "$MTLS" ca init --dir int --parent pki/ca --name "Team CA"
q "$MTLS" ca init --dir other --name "Other CA"
q "$MTLS" cert issue --ca int --client --name alice --out alice
q "$MTLS" cert issue --ca pki/ca --server --name soon.example --days 10 --out soon
q "$MTLS" ca crl --ca pki/ca --out root.crl
q "$MTLS" ca crl --ca int --out int.crl
cat root.crl int.crl >crl.pem
cat pki/ca/ca.crt int/ca.crt >clientca.pem
cat pki/ca/ca.crt other/ca.crt >mixed.pem
HAVE_OLD_CRL=0
if command -v faketime >/dev/null &&
    faketime -f -10d "$MTLS" --version >/dev/null 2>&1; then
	q faketime -f -10d "$MTLS" ca crl --ca int --days 1 --out int-old.crl
	cat root.crl int-old.crl >oldcrl.pem
	HAVE_OLD_CRL=1
fi
mkdir -p ngxp cases

# case SOFTWARE NAME SERVER(ok|bad) DOCTOR-EXIT CODE < body
#   The body is wrapped in what each server needs around it (nginx: inside
#   http {}; Apache: after ServerRoot and the modules; HAProxy: after a
#   defaults section), @D@ replaced by the test's directory.
N=0
case_() {
	sw=$1 name=$2 server=$3 want=$4 code=$5
	N=$((N + 1))
	f=$T/cases/$N.$sw.conf
	case $sw in
	nginx)
		{
			echo "pid $T/ngxp/nginx.pid;"
			echo "events { }"
			echo "http {"
			for p in client_body proxy fastcgi uwsgi scgi; do
				echo "    ${p}_temp_path $T/ngxp;"
			done
			sed "s|@D@|$T|g"
			echo "}"
		} >"$f"
		"$NGINX" -t -q -p "$T/ngxp" -e "$T/ngxp/error.log" -c "$f" \
		    >"$T/server.out" 2>&1 ;;
	apache)
		apache_conf "$T/cases/ap$N" /dev/null
		{
			grep -v '^Include' "$T/cases/ap$N/httpd.conf"
			sed "s|@D@|$T|g"
		} >"$f"
		"$APACHE" -t -f "$f" >"$T/server.out" 2>&1 ;;
	haproxy)
		{
			printf 'defaults\n    mode http\n    timeout client 30s\n'
			printf '    timeout server 30s\n    timeout connect 5s\n'
			sed "s|@D@|$T|g"
		} >"$f"
		"$HAPROXY" -c -q -f "$f" >"$T/server.out" 2>&1 ;;
	esac
	got=$?
	if [ "$server" = ok ] && [ $got -ne 0 ]; then
		cat "$f" "$T/server.out"
		fail "$name: $sw refuses a configuration it should accept"
	fi
	if [ "$server" = bad ] && [ $got -eq 0 ]; then
		fail "$name: $sw accepts a configuration it should refuse"
	fi
	check "$sw: $name" "$want" "$code" --server-config "$f" --type "$sw"
}


# ---- nginx --------------------------------------------------------------
NGX_TLS="listen 127.0.0.1:8443 ssl;
    ssl_certificate @D@/pki/server.crt;
    ssl_certificate_key @D@/pki/server.key;
    ssl_protocols TLSv1.2 TLSv1.3;"
NGX_MTLS="$NGX_TLS
    ssl_verify_client on;
    ssl_client_certificate @D@/clientca.pem;
    ssl_crl @D@/crl.pem;"

"$MTLS" config nginx --pki pki --ca clientca.pem --crl crl.pem \
    --identity-headers --allow-cn alice --listen 127.0.0.1:8443 \
    >ngx.snippet || fail "mtls config nginx"
case_ nginx "mtls config nginx output" ok 0 none <ngx.snippet
case_ nginx "no ssl_verify_client" ok 1 conf-client-auth-off <<CASE
server {
    $NGX_TLS
    ssl_client_certificate @D@/clientca.pem;
}
CASE
case_ nginx "optional, nothing checks \$ssl_client_verify" ok 1 \
    conf-optional-unchecked <<CASE
server {
    $NGX_TLS
    ssl_verify_client optional;
    ssl_client_certificate @D@/clientca.pem;
    ssl_crl @D@/crl.pem;
    location / { proxy_pass http://127.0.0.1:8080; }
}
CASE
case_ nginx "optional with a check" ok 0 none <<CASE
server {
    $NGX_TLS
    ssl_verify_client optional;
    ssl_client_certificate @D@/clientca.pem;
    ssl_crl @D@/crl.pem;
    if (\$ssl_client_verify != SUCCESS) { return 403; }
}
CASE
case_ nginx "ssl_verify_depth 0 with an intermediate" ok 1 \
    conf-verify-depth <<CASE
server {
    $NGX_MTLS
    ssl_verify_depth 0;
}
CASE
case_ nginx "client CA file missing" bad 1 conf-file-missing <<CASE
server {
    $NGX_TLS
    ssl_verify_client on;
    ssl_client_certificate @D@/nonexistent.pem;
}
CASE
case_ nginx "client CA file holds a leaf" ok 1 conf-ca-not-ca <<CASE
server {
    $NGX_TLS
    ssl_verify_client on;
    ssl_client_certificate @D@/alice.crt;
    ssl_crl @D@/crl.pem;
}
CASE
case_ nginx "unrelated roots in the client CA file" ok 0 \
    conf-ca-mixed-roots <<CASE
server {
    $NGX_TLS
    ssl_verify_client on;
    ssl_client_certificate @D@/mixed.pem;
}
CASE
case_ nginx "intermediate only in ssl_trusted_certificate" ok 0 \
    conf-ca-not-sent <<CASE
server {
    $NGX_TLS
    ssl_verify_client on;
    ssl_client_certificate @D@/pki/ca/ca.crt;
    ssl_trusted_certificate @D@/int/ca.crt;
    ssl_crl @D@/crl.pem;
}
CASE
case_ nginx "CRL of the intermediate missing" ok 1 \
    conf-crl-missing-for-ca <<CASE
server {
    $NGX_TLS
    ssl_verify_client on;
    ssl_client_certificate @D@/clientca.pem;
    ssl_crl @D@/root.crl;
}
CASE
if [ "$HAVE_OLD_CRL" = 1 ]; then
	case_ nginx "expired CRL" ok 1 crl-expired <<CASE
server {
    $NGX_TLS
    ssl_verify_client on;
    ssl_client_certificate @D@/clientca.pem;
    ssl_crl @D@/oldcrl.pem;
}
CASE
fi
case_ nginx "no CRL" ok 0 conf-no-revocation <<CASE
server {
    $NGX_TLS
    ssl_verify_client on;
    ssl_client_certificate @D@/clientca.pem;
}
CASE
case_ nginx "a location's own proxy_set_header drops the identity header" \
    ok 1 conf-identity-header-spoofable <<CASE
server {
    $NGX_MTLS
    proxy_set_header X-SSL-Client-Subject \$ssl_client_s_dn;
    location / { proxy_pass http://127.0.0.1:8080; }
    location /api/ {
        proxy_set_header Host \$host;
        proxy_pass http://127.0.0.1:8080;
    }
}
CASE
case_ nginx "TLS 1.0 and 1.1 enabled" ok 0 conf-old-tls <<CASE
server {
    listen 127.0.0.1:8443 ssl;
    ssl_certificate @D@/pki/server.crt;
    ssl_certificate_key @D@/pki/server.key;
    ssl_protocols TLSv1 TLSv1.1 TLSv1.2;
    ssl_verify_client on;
    ssl_client_certificate @D@/clientca.pem;
    ssl_crl @D@/crl.pem;
}
CASE
case_ nginx "a client certificate as the server's" ok 1 \
    usage-no-serverauth <<CASE
server {
    listen 127.0.0.1:8443 ssl;
    ssl_certificate @D@/alice.crt;
    ssl_certificate_key @D@/alice.key;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_verify_client on;
    ssl_client_certificate @D@/clientca.pem;
    ssl_crl @D@/crl.pem;
}
CASE
case_ nginx "server certificate expires in 10 days" ok 0 \
    cert-expires-soon <<CASE
server {
    listen 127.0.0.1:8443 ssl;
    ssl_certificate @D@/soon.crt;
    ssl_certificate_key @D@/soon.key;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_verify_client on;
    ssl_client_certificate @D@/clientca.pem;
    ssl_crl @D@/crl.pem;
}
CASE
mkdir -p sites
printf 'server {\n    %s\n}\n' "$(echo "$NGX_TLS" | sed "s|@D@|$T|g")" \
    >sites/plain.conf
case_ nginx "server block in an included file, client auth off" ok 1 \
    conf-client-auth-off <<CASE
include @D@/sites/*.conf;
CASE
case_ nginx "include of a missing file" bad 0 conf-include-missing <<CASE
include @D@/sites/missing.conf;
CASE
case_ nginx "ssl_verify_client in a location" bad 1 \
    conf-client-auth-per-location <<CASE
server {
    $NGX_MTLS
    location /admin/ { ssl_verify_client on; }
}
CASE
case_ nginx "a missing semicolon" bad 1 conf-syntax <<CASE
server {
    $NGX_MTLS
    ssl_verify_depth 2
}
CASE

# ---- Apache httpd -------------------------------------------------------
AP_TLS="Listen 127.0.0.1:8443
<VirtualHost 127.0.0.1:8443>
    SSLEngine on
    SSLCertificateFile @D@/pki/server.crt
    SSLCertificateKeyFile @D@/pki/server.key
    SSLProtocol -all +TLSv1.2 +TLSv1.3"
AP_CA="SSLCACertificateFile @D@/clientca.pem
    SSLVerifyDepth 2
    SSLCARevocationFile @D@/crl.pem
    SSLCARevocationCheck chain"

"$MTLS" config apache --pki pki --ca clientca.pem --crl crl.pem \
    --identity-headers --allow-cn alice --listen 127.0.0.1:8443 \
    >apache.snippet || fail "mtls config apache"
case_ apache "mtls config apache output" ok 0 none <apache.snippet
case_ apache "no SSLVerifyClient" ok 1 conf-client-auth-off <<CASE
$AP_TLS
    $AP_CA
</VirtualHost>
CASE
case_ apache "optional, nothing checks SSL_CLIENT_VERIFY" ok 1 \
    conf-optional-unchecked <<CASE
$AP_TLS
    SSLVerifyClient optional
    $AP_CA
</VirtualHost>
CASE
case_ apache "SSLVerifyClient only in a <Location>" ok 1 \
    conf-client-auth-per-location <<CASE
$AP_TLS
    $AP_CA
    <Location "/admin">
        SSLVerifyClient require
    </Location>
</VirtualHost>
CASE
case_ apache "SSLVerifyDepth default with an intermediate" ok 1 \
    conf-verify-depth <<CASE
$AP_TLS
    SSLVerifyClient require
    SSLCACertificateFile @D@/clientca.pem
    SSLCARevocationFile @D@/crl.pem
    SSLCARevocationCheck chain
</VirtualHost>
CASE
case_ apache "CRL file without SSLCARevocationCheck" ok 1 \
    conf-crl-not-checked <<CASE
$AP_TLS
    SSLVerifyClient require
    SSLCACertificateFile @D@/clientca.pem
    SSLVerifyDepth 2
    SSLCARevocationFile @D@/crl.pem
</VirtualHost>
CASE
case_ apache "SSLCARevocationCheck leaf with an intermediate" ok 0 \
    conf-crl-leaf-only <<CASE
$AP_TLS
    SSLVerifyClient require
    SSLCACertificateFile @D@/clientca.pem
    SSLVerifyDepth 2
    SSLCARevocationFile @D@/crl.pem
    SSLCARevocationCheck leaf
</VirtualHost>
CASE
case_ apache "chain check, CRL of the intermediate missing" ok 1 \
    conf-crl-missing-for-ca <<CASE
$AP_TLS
    SSLVerifyClient require
    SSLCACertificateFile @D@/clientca.pem
    SSLVerifyDepth 2
    SSLCARevocationFile @D@/root.crl
    SSLCARevocationCheck chain
</VirtualHost>
CASE
case_ apache "RequestHeader add of the subject, no unset" ok 1 \
    conf-identity-header-spoofable <<CASE
$AP_TLS
    SSLVerifyClient require
    $AP_CA
    RequestHeader add X-SSL-Client-Subject "%{SSL_CLIENT_S_DN}s"
</VirtualHost>
CASE
case_ apache "SSLProtocol all" ok 0 conf-old-tls <<CASE
Listen 127.0.0.1:8443
<VirtualHost 127.0.0.1:8443>
    SSLEngine on
    SSLCertificateFile @D@/pki/server.crt
    SSLCertificateKeyFile @D@/pki/server.key
    SSLProtocol all -SSLv3
    SSLVerifyClient require
    $AP_CA
</VirtualHost>
CASE
case_ apache "an unclosed <VirtualHost>" bad 1 conf-syntax <<CASE
$AP_TLS
    SSLVerifyClient require
CASE

# ---- HAProxy ------------------------------------------------------------
HAP_GLOBAL="global
    ssl-load-extra-del-ext"
HAP_BIND="bind 127.0.0.1:8443 ssl crt @D@/pki/server.crt"
HAP_BACKEND="    default_backend be
backend be
    server app 127.0.0.1:8080"

"$MTLS" config haproxy --pki pki --ca clientca.pem --crl crl.pem \
    --identity-headers --allow-cn alice --listen 127.0.0.1:8443 \
    >haproxy.snippet || fail "mtls config haproxy"
case_ haproxy "mtls config haproxy output" ok 0 none <haproxy.snippet
case_ haproxy "bind ssl without verify" ok 1 conf-client-auth-off <<CASE
$HAP_GLOBAL
frontend fe
    $HAP_BIND ca-file @D@/clientca.pem
$HAP_BACKEND
CASE
case_ haproxy "verify optional, nothing checks ssl_c_used" ok 1 \
    conf-optional-unchecked <<CASE
$HAP_GLOBAL
frontend fe
    $HAP_BIND ca-file @D@/clientca.pem verify optional crl-file @D@/crl.pem
$HAP_BACKEND
CASE
case_ haproxy "add-header of the subject keeps the client's copy" ok 1 \
    conf-identity-header-spoofable <<CASE
$HAP_GLOBAL
frontend fe
    $HAP_BIND ca-file @D@/clientca.pem verify required crl-file @D@/crl.pem
    http-request add-header X-SSL-Client-Subject %[ssl_c_s_dn]
$HAP_BACKEND
CASE
case_ haproxy "crl-file without the intermediate's CRL" ok 1 \
    conf-crl-missing-for-ca <<CASE
$HAP_GLOBAL
frontend fe
    $HAP_BIND ca-file @D@/clientca.pem verify required crl-file @D@/root.crl
$HAP_BACKEND
CASE
case_ haproxy "ssl-min-ver TLSv1.0" ok 0 conf-old-tls <<CASE
$HAP_GLOBAL
frontend fe
    $HAP_BIND ca-file @D@/clientca.pem verify required crl-file @D@/crl.pem ssl-min-ver TLSv1.0
$HAP_BACKEND
CASE
case_ haproxy "intermediate only in ca-verify-file" ok 0 \
    conf-ca-not-sent <<CASE
$HAP_GLOBAL
frontend fe
    $HAP_BIND ca-file @D@/pki/ca/ca.crt ca-verify-file @D@/int/ca.crt verify required crl-file @D@/crl.pem
$HAP_BACKEND
CASE
mkdir -p crtdir
cat pki/server.crt pki/server.key >crtdir/server.pem
case_ haproxy "crt names a directory (not read, no false finding)" ok 0 \
    none <<CASE
frontend fe
    bind 127.0.0.1:8443 ssl crt @D@/crtdir ca-file @D@/clientca.pem verify required crl-file @D@/crl.pem ssl-min-ver TLSv1.2
$HAP_BACKEND
CASE
case_ haproxy "client CA file missing" bad 1 conf-file-missing <<CASE
$HAP_GLOBAL
frontend fe
    $HAP_BIND ca-file @D@/nonexistent.pem verify required
$HAP_BACKEND
CASE

check_codes
[ "$N" -ge 39 ] || fail "only $N cases ran"
ok "$N configurations checked by their server and by mtls doctor"
