#!/bin/sh
# serve --config with an HTTP-mode service: the http keys of the file
# (http-identity, strip-header-prefix as a list, http-max-*, http-timeout)
# act as their command-line twins do; a reload that changes the prefixes
# applies them; --check refuses http-* keys without http, http together
# with proxy-protocol, crl-from without crl, and a renew-from that is not
# an https:// URL, each in one line naming the file, line and key.
. "$MTLS_TOP/tests/integration/lib.sh"
. "$MTLS_TOP/tests/integration/serve_lib.sh"
. "$MTLS_TOP/tests/integration/config_lib.sh"
. "$MTLS_TOP/tests/integration/http_lib.sh"

make_pki
start_http_backend
PORT=$(free_port)
write_conf() { # PREFIXES-YAML
	cat >mtls.yaml.tmp <<YAML
services:
  web:
    listen: 127.0.0.1:$PORT
    cert: pki/server.crt
    key: pki/server.key
    ca: pki/ca/ca.crt
    backend: 127.0.0.1:$BPORT
    http: true
    http-identity: subject
    strip-header-prefix: $1
    http-max-headers: 50
    http-timeout: 20
    allow: { cn: client }
YAML
	mv mtls.yaml.tmp mtls.yaml
}
write_conf '[X-SSL-, X-Legacy-]'
run 0 "$MTLS" serve --config mtls.yaml --check
start_config mtls.yaml
wait_port "$PORT"

printf 'GET /a HTTP/1.1\r\nHost: localhost\r\nX-SSL-Client-Verify: SUCCESS\r\nX-Legacy-User: admin\r\nX-Client-Subject: CN=admin\r\nX-Keep: 1\r\n\r\n' >"$T/a.req"
probe raw pki/client "$T/a.req"
assert_contains "$T/probe.out" '200'
assert_contains "$T/http.log" '"X-Keep", "1"'
assert_contains "$T/http.log" '"X-Client-Subject", "CN=client"'
assert_not_contains "$T/http.log" 'SUCCESS'
assert_not_contains "$T/http.log" 'admin'
ok "the file's http, http-identity and strip-header-prefix list act as the options do"

# 60 header fields against http-max-headers 50: 431.
{ printf 'GET /b HTTP/1.1\r\nHost: localhost\r\n'
  i=0; while [ $i -lt 60 ]; do printf 'X-F%d: v\r\n' $i; i=$((i + 1)); done
  printf '\r\n'; } >"$T/b.req"
probe raw pki/client "$T/b.req"
assert_contains "$T/probe.out" '431'
ok "http-max-headers from the file is the limit"

# A reload that drops X-Legacy- from the prefixes: that header now passes.
: >"$T/http.log"
write_conf '[X-SSL-]'
kill -HUP "$SPID"
wait_log 'changed' 1
probe raw pki/client "$T/a.req"
assert_contains "$T/http.log" '"X-Legacy-User", "admin"'
assert_not_contains "$T/http.log" 'SUCCESS'
ok "a reload that changes strip-header-prefix applies the new list"

# --check: each broken file gives its one line.
check_err() { # NAME WANT-SUBSTRING  (file NAME.yaml)
	"$MTLS" serve --config "$1.yaml" --check >"$T/out" 2>"$T/err"
	rc=$?
	[ $rc -ne 0 ] || fail "$1: --check passed"
	[ "$(wc -l <"$T/err")" -eq 1 ] || { cat "$T/err"; fail "$1: not one line"; }
	grep -qF -- "$2" "$T/err" || { cat "$T/err"; fail "$1: expected '$2'"; }
}
base() {
	printf 'services:\n  s:\n    listen: 127.0.0.1:%s\n    cert: pki/server.crt\n    key: pki/server.key\n    ca: pki/ca/ca.crt\n    backend: 127.0.0.1:%s\n    allow: { any: true }\n' "$(free_port)" "$BPORT"
}
{ base; echo '    strip-header-prefix: X-SSL-'; } >no-http.yaml
check_err no-http 'no-http.yaml:3: services.s: http-identity, strip-header-prefix and http-* need http: true'
{ base; echo '    http: true'; echo '    proxy-protocol: true'; } >both.yaml
check_err both 'both.yaml:3: services.s: http and proxy-protocol cannot both be true'
{ base; echo '    crl-from: https://127.0.0.1:9/crl'; } >crlfrom.yaml
check_err crlfrom 'crlfrom.yaml:3: services.s: crl-from needs crl'
{ base; echo '    renew-from: http://127.0.0.1:9'; } >renew.yaml
check_err renew 'renew.yaml:9: services.s.renew-from: "http://127.0.0.1:9" is not an https:// URL'
{ base; echo '    http: true'; echo '    strip-header-prefix: [X-A-, ""]'; } >empty.yaml
check_err empty 'empty.yaml:10: services.s.strip-header-prefix: each prefix is a non-empty string'
{ base; echo '    http: true'; echo '    http-max-headers: 0'; } >zero.yaml
check_err zero 'zero.yaml:10: services.s.http-max-headers: 0 is not between 1 and 10000'
ok "--check: http-* without http, http with proxy-protocol, crl-from without crl, a non-https renew-from, an empty prefix, a limit out of range"
