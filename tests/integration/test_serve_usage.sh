#!/bin/sh
# mtls serve's command line: each option error is a usage error (exit 2)
# that names the problem; a missing or bad file is exit 1 naming the file;
# no access rule and a backend off this machine are refused.
. "$MTLS_TOP/tests/integration/lib.sh"
. "$MTLS_TOP/tests/integration/serve_lib.sh"

make_pki
base="--listen 127.0.0.1:1 --cert pki/server.crt --key pki/server.key --ca pki/ca/ca.crt"

# shellcheck disable=SC2086
usage_error() { # TEXT ARGS...
	text=$1; shift
	run 2 "$MTLS" serve "$@"
	assert_contains "$T/err" "$text"
	head -n 1 "$T/err" | grep -qF -- "$text" || fail "the first line does not say '$text'"
}

# shellcheck disable=SC2086
usage_error "no access rule" $base --backend 127.0.0.1:8080
ok "refuses to start without an access rule"
# shellcheck disable=SC2086
usage_error "not a loopback address" $base --backend 192.0.2.1:80 --allow-any
# shellcheck disable=SC2086
usage_error "--unsafe-backend" $base --backend 192.0.2.1:80 --allow-any
ok "refuses a backend off this machine without --unsafe-backend"
# shellcheck disable=SC2086
usage_error "--backend is required" $base --allow-any
# shellcheck disable=SC2086
usage_error "cannot be used together" $base --backend 127.0.0.1:8080 --allow-any --http --proxy-protocol
# shellcheck disable=SC2086
usage_error "need --http" $base --backend 127.0.0.1:8080 --allow-any --strip-header-prefix X-SSL-
# shellcheck disable=SC2086
usage_error "--http-identity: 'bogus' is not" $base --backend 127.0.0.1:8080 --allow-any --http --http-identity xfcc,bogus
# shellcheck disable=SC2086
usage_error "--http-max-headers" $base --backend 127.0.0.1:8080 --allow-any --http --http-max-headers 0
# shellcheck disable=SC2086
usage_error "--client-auth" $base --backend 127.0.0.1:8080 --allow-any --client-auth maybe
# shellcheck disable=SC2086
usage_error "--tls-min" $base --backend 127.0.0.1:8080 --allow-any --tls-min 1.1
# shellcheck disable=SC2086
usage_error "--workers" $base --backend 127.0.0.1:8080 --allow-any --workers 0
# shellcheck disable=SC2086
usage_error "--handshake-timeout" $base --backend 127.0.0.1:8080 --allow-any --handshake-timeout -1
# shellcheck disable=SC2086
usage_error "--log-format" $base --backend 127.0.0.1:8080 --allow-any --log-format xml
# shellcheck disable=SC2086
usage_error "unknown option" $base --backend 127.0.0.1:8080 --allow-any --frobnicate
# shellcheck disable=SC2086
usage_error "HOST:PORT" $base --backend 127.0.0.1 --allow-any
# shellcheck disable=SC2086
usage_error "brackets" $base --backend ::1:80 --allow-any
# shellcheck disable=SC2086
usage_error "--allow-fingerprint" $base --backend 127.0.0.1:8080 --allow-fingerprint md5:zz
run 2 "$MTLS" serve --listen 127.0.0.1:99999 --cert a --key b --ca c --backend 127.0.0.1:1 --allow-any
assert_contains "$T/err" "not a port"
ok "option errors are usage errors (exit 2) that say what is wrong"

run 1 "$MTLS" serve --listen 127.0.0.1:1 --cert missing.crt --key pki/server.key \
    --ca pki/ca/ca.crt --backend 127.0.0.1:8080 --allow-any
assert_one_line_error "missing.crt"
echo garbage >bad.pem
run 1 "$MTLS" serve --listen 127.0.0.1:1 --cert pki/server.crt --key pki/server.key \
    --ca bad.pem --backend 127.0.0.1:8080 --allow-any
assert_one_line_error "bad.pem"
run 1 "$MTLS" serve --listen 127.0.0.1:1 --cert pki/server.crt --key pki/client.key \
    --ca pki/ca/ca.crt --backend 127.0.0.1:8080 --allow-any
assert_one_line_error "key"
ok "file errors are one line naming the file, exit 1"

p=$(free_port)
python3 -c "import socket,time; s=socket.socket(); s.bind(('127.0.0.1',$p)); s.listen(); time.sleep(30)" &
track $!
wait_port "$p"
run 1 timeout 10 "$MTLS" serve --listen "127.0.0.1:$p" --cert pki/server.crt --key pki/server.key \
    --ca pki/ca/ca.crt --backend 127.0.0.1:8080 --allow-any
assert_one_line_error "127.0.0.1:$p"
ok "a port in use is one line, exit 1"

run 0 "$MTLS" serve --help
assert_contains "$T/out" "--allow-uri"
ok "--help"
