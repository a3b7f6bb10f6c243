#!/bin/sh
# serve --http never lets a client speak for the proxy: every identity
# header (X-Forwarded-Client-Cert, Client-Cert, Client-Cert-Chain,
# X-Client-*, X-Forwarded-For/-Proto, Forwarded) in every spelling (case,
# '_' for '-', doubled, listed in Connection) is removed before the proxy
# adds its own; Client-Cert twice and obs-fold are refused with 400.  The
# same with --client-auth optional and no certificate: the backend sees no
# identity at all.  --strip-header-prefix removes legacy headers.
. "$MTLS_TOP/tests/integration/lib.sh"
. "$MTLS_TOP/tests/integration/serve_lib.sh"
. "$MTLS_TOP/tests/integration/http_lib.sh"

make_pki
start_http_backend
start_serve --http --allow-any --client-auth optional \
    --strip-header-prefix X-SSL- --workers 1
probe spoof pki/client
probe spoof -

: >"$T/http.log"
printf 'GET /legacy HTTP/1.1\r\nHost: localhost\r\nX-SSL-Client-Verify: SUCCESS\r\nx_ssl_client_s_dn: CN=admin\r\nX-Keep: 1\r\n\r\n' >"$T/legacy.req"
probe raw pki/client "$T/legacy.req"
assert_contains "$T/http.log" '"X-Keep", "1"'
assert_not_contains "$T/http.log" 'SUCCESS'
assert_not_contains "$T/http.log" 'CN=admin'
ok "--strip-header-prefix X-SSL- removes X-SSL-* and x_ssl_* headers, and nothing else"
