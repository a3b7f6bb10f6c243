#!/bin/sh
# serve --http against request smuggling: a corpus of malformed and
# ambiguous requests (CL.TE, TE.CL, TE.TE spellings, duplicate and odd
# Content-Length, obs-fold, bare CR and LF, NUL, bad chunk sizes, chunk
# extensions, trailers, limits, CONNECT...), each on its own connection.
# Each is refused with the right status and Connection: close, or forwarded
# as exactly one request; the backend's parse of every byte it received
# proves no second request got through.
. "$MTLS_TOP/tests/integration/lib.sh"
. "$MTLS_TOP/tests/integration/serve_lib.sh"
. "$MTLS_TOP/tests/integration/http_lib.sh"

make_pki
start_http_backend
start_serve --http --allow-any --workers 1
probe smuggle pki/client
n=$(grep -c 'outcome=http_refused' "$T/serve.log")
[ "$n" -ge 30 ] || { cat "$T/serve.log"; fail "only $n refusals logged"; }
assert_contains "$T/serve.log" 'status=400'
assert_contains "$T/serve.log" 'reason="bare LF in the request head"'
assert_contains "$T/serve.log" 'reason="400 obs-fold or whitespace at the start of a header line"'
assert_contains "$T/serve.log" 'reason="400 method PRI: an HTTP/2 connection preface on an HTTP/1.1 connection"'
ok "every refusal is logged with its status and reason ($n)"
