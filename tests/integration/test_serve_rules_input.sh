#!/bin/sh
# Access rules that cannot mean what they say are usage errors (exit 2):
# "*" in --allow-uri only as a whole path segment ("a*" was accepted and
# matched literally), "**" only last, no empty, "." or ".." segment; and
# --allow-any beside another rule (which would then restrict nothing).
# A URI rule's scheme and host match without case (RFC 3986).
. "$MTLS_TOP/tests/integration/lib.sh"
. "$MTLS_TOP/tests/integration/serve_lib.sh"

make_pki
P=$(free_port)
for r in 'spiffe://example.com/a*' 'spiffe://example.com/**/x' \
    'spiffe://example.com/a/../b' 'spiffe://example.com/a//b'; do
	run 2 timeout 10 "$MTLS" serve --listen "127.0.0.1:$P" --cert pki/server.crt \
	    --key pki/server.key --ca pki/ca/ca.crt --backend "127.0.0.1:9" \
	    --allow-uri "$r"
	assert_contains "$T/err" "--allow-uri"
done
ok "--allow-uri: '*' as a whole segment, '**' last, no dot or empty segments"

run 2 timeout 10 "$MTLS" serve --listen "127.0.0.1:$P" --cert pki/server.crt \
    --key pki/server.key --ca pki/ca/ca.crt --backend "127.0.0.1:9" \
    --allow-any --allow-cn client
assert_one_line_error "--allow-any"
ok "--allow-any with another rule: a usage error"

run 0 "$MTLS" cert issue --ca pki/ca --client --name web \
    --uri spiffe://example.com/ns/prod/sa/web --out web
start_backend echo
start_serve --allow-uri 'SPIFFE://Example.COM/ns/*/sa/web'
s_client web
assert_contains "$T/sc.out" "ping"
ok "a URI rule's scheme and host match without case"
