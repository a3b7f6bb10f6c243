#!/bin/sh
# mtls config without a server: the refusals (a CA of the chain without its
# CRL, an expired CRL, a key HAProxy cannot find, usage errors), the depth
# each server counts, the translation of access rules (and the comment,
# failing closed, where a server cannot express one), and the client lines.
. "$MTLS_TOP/tests/integration/lib.sh"

q() { "$@" >/dev/null 2>"$T/setup.err" || { cat "$T/setup.err"; fail "setup: $*"; }; }
q "$MTLS" init --dir pki
q "$MTLS" ca init --dir int --parent pki/ca --name "Team CA"
q "$MTLS" ca crl --ca pki/ca --out root.crl
q "$MTLS" ca crl --ca int --out int.crl
cat root.crl int.crl >crl.pem
cat pki/ca/ca.crt int/ca.crt >clientca.pem

# A CRL file must cover every CA of the chain.
for sw in nginx apache haproxy; do
	run 1 "$MTLS" config "$sw" --pki pki --ca clientca.pem --crl root.crl
	assert_one_line_error "holds no CRL of the CA CN=Team CA"
done
ok "a CRL file without the intermediate's CRL is refused (nginx, apache, haproxy)"

if command -v faketime >/dev/null &&
    faketime -f -10d "$MTLS" --version >/dev/null 2>&1; then
	q faketime -f -10d "$MTLS" ca crl --ca int --days 1 --out old.crl
	cat root.crl old.crl >oldcrl.pem
	run 1 "$MTLS" config nginx --pki pki --ca clientca.pem --crl oldcrl.pem
	assert_one_line_error "the CRL of CN=Team CA expired on"
	ok "an expired CRL is refused"
fi

# The depth each server counts: OpenSSL's CAs above the leaf, mod_ssl's
# CAs up to the root.
run 0 "$MTLS" config nginx --pki pki --ca clientca.pem --crl crl.pem
assert_contains "$T/out" "ssl_verify_depth 1;"
assert_contains "$T/out" "ssl_crl \"$T/crl.pem\";"
assert_contains "$T/out" "ssl_client_certificate \"$T/clientca.pem\";"
run 0 "$MTLS" config apache --pki pki --ca clientca.pem --crl crl.pem
assert_contains "$T/out" "SSLVerifyDepth 2"
assert_contains "$T/out" "SSLCARevocationCheck chain"
run 0 "$MTLS" config apache --pki pki
assert_contains "$T/out" "SSLVerifyDepth 1"
assert_contains "$T/out" "No CRL given: a revoked client certificate gets in"
ok "verify depth from the chain (nginx 1, Apache 2 with an intermediate); paths absolute"

# Rules: translated, or a comment and refused.
run 0 "$MTLS" config nginx --pki pki --allow-cn alice --allow-ou ops \
    --allow-dns api.example.com
assert_contains "$T/out" '"~(^|[^\\\\],)CN=alice(,|$)" 1;'
assert_contains "$T/out" '"~(^|[^\\\\],)OU=ops(,|$)" 1;'
assert_contains "$T/out" "# DNS SAN api.example.com: nginx has no variable for it, so these clients are refused."
assert_contains "$T/out" "default 0;"
run 0 "$MTLS" config apache --pki pki --allow-uri spiffe://x/y
assert_contains "$T/out" "Require all denied"
run 0 "$MTLS" config haproxy --pki pki --allow-fingerprint \
    sha256:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89
assert_contains "$T/out" "acl mtls_allowed ssl_c_der,digest(sha256),hex -m str -i abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789"
assert_contains "$T/out" "http-request deny deny_status 403 unless mtls_allowed"
ok "rules: nginx map, Apache Require, HAProxy ACL; an inexpressible rule refuses its clients"

# HAProxy finds the key only in the crt file or next to it.
cp pki/server.key elsewhere.key
run 2 "$MTLS" config haproxy --cert pki/server.crt --key elsewhere.key \
    --ca pki/ca/ca.crt
assert_one_line_error "HAProxy reads the key"
cat pki/server.crt pki/server.key >combined.pem
run 0 "$MTLS" config haproxy --cert combined.pem --key combined.pem \
    --ca pki/ca/ca.crt
assert_not_contains "$T/out" "ssl-load-extra-del-ext"
ok "haproxy: a key away from its certificate is refused; a combined file needs no global line"

# Clients.
run 0 "$MTLS" config curl --pki pki
assert_contains "$T/out" "curl --cert pki/client.crt --key pki/client.key --cacert pki/ca/ca.crt https://localhost:8443/"
run 0 "$MTLS" config openssl --pki pki --url https://127.0.0.1:9443/x
assert_contains "$T/out" "openssl s_client -connect 127.0.0.1:9443 -servername 127.0.0.1 -cert pki/client.crt"
run 0 "$MTLS" config requests --pki pki --json
python3 - "$T/out" <<'PY' || fail "requests --json"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["software"] == "requests"
src = "\n".join(d["lines"])
compile(src, "snippet", "exec")
assert 'cert=("pki/client.crt", "pki/client.key")' in src, src
PY
ok "client lines: curl, openssl s_client, a requests snippet that compiles"

# Usage errors: exit 2, one line.
run 2 "$MTLS" config
assert_one_line_error "say which software"
run 2 "$MTLS" config lighttpd --pki pki
assert_one_line_error "'lighttpd' is not nginx, apache, haproxy"
run 2 "$MTLS" config curl --pki pki --crl crl.pem
assert_one_line_error "curl is a client"
run 2 "$MTLS" config nginx --pki pki --backend https://x:1
assert_one_line_error "not http://HOST:PORT"
run 2 "$MTLS" config nginx --pki pki --listen 70000
assert_one_line_error "not PORT, HOST:PORT"
# The one HOST:PORT parser: a bare IPv6 address needs brackets, a port is
# digits only, and an IPv6 host is written back in brackets.
run 2 "$MTLS" config nginx --pki pki --listen ::1:8443
assert_one_line_error "not PORT, HOST:PORT"
run 2 "$MTLS" config nginx --pki pki --listen 127.0.0.1:+443
assert_one_line_error "not PORT, HOST:PORT"
run 2 "$MTLS" config nginx --pki pki --backend http://::1:8080
assert_one_line_error "not http://HOST:PORT"
run 0 "$MTLS" config nginx --pki pki --listen "[::1]:8443" --backend "http://[::1]:8080"
assert_contains "$T/out" "listen [::1]:8443 ssl;"
assert_contains "$T/out" "proxy_pass http://[::1]:8080;"
run 2 "$MTLS" config nginx --cert pki/server.crt
assert_one_line_error "give --pki DIR, or --cert, --key and --ca"
run 1 "$MTLS" config nginx --pki nowhere
assert_one_line_error "nowhere/server.crt"
ok "usage errors exit 2 with one line; a missing file exits 1"
