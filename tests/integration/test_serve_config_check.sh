#!/bin/sh
# serve --config FILE --check, like "nginx -t": a good file passes (exit 0,
# one line); each of 21 broken files is refused with exit 1 and exactly
# the expected one-line error naming the file, the line and the key (or,
# for the files it names, the service and the file): unknown keys, wrong
# types, missing keys, YAML syntax, bad values, rules that do not parse,
# a certificate file that is missing, a key that does not match, a CRL
# the CA did not sign, two services on one address.
. "$MTLS_TOP/tests/integration/lib.sh"

run 0 "$MTLS" init --dir pki
ROOT=$(ca_cn pki/ca/ca.crt)
run 0 "$MTLS" ca init --dir other --name "Other CA"
run 0 "$MTLS" ca crl --ca other --out other.crl
run 0 "$MTLS" ca crl --ca pki/ca --out pki.crl
run 0 "$MTLS" cert issue --ca pki/ca --server --name localhost --out srv2

mkdir conf
cat >conf/good.yaml <<'YAML'
workers: 1
metrics: 127.0.0.1:9
log-format: json
drain-timeout: 5
services:
  api:
    listen: 127.0.0.1:8443
    cert: ../pki/server.crt
    key: ../pki/server.key
    ca: ../pki/ca/ca.crt
    crl: ../pki.crl
    backend: 127.0.0.1:9
    proxy-protocol: true
    client-auth: require
    tls-min: "1.3"
    max-conns: 100
    handshake-timeout: 5
    idle-timeout: 60.5
    allow:
      cn: [client, other]
      dns: "*.example.com"
      any: false
  web:
    listen: "[::1]:8444"
    cert: ../pki/server.crt
    key: ../pki/server.key
    ca: ../other/ca.crt
    backend: unix:/run/web.sock
    allow: { uri: "spiffe://example.org/**" }
YAML
# From another directory: the paths are relative to the file.
(cd / && "$MTLS" serve --config "$T/conf/good.yaml" --check) >"$T/out" 2>"$T/err" ||
    { cat "$T/err"; fail "the good file does not pass --check"; }
assert_contains "$T/out" "conf/good.yaml: 2 services, configuration ok"
ok "--check passes a good file with every key, paths relative to the file"

# The cases: "=== NAME" then the file; the expected errors follow.
awk '/^=== /{f=$2".yaml"; next} /^@@@/{exit} {print > f}' <<'CASES'
=== unknown-top
wokers: 2
services:
  api: &svc
    listen: 127.0.0.1:8443
=== unknown-key
services:
  api:
    listen: 127.0.0.1:8443
    lisen: 127.0.0.1:8443
=== missing-key
services:
  api:
    listen: 127.0.0.1:8443
    cert: pki/server.crt
    key: pki/server.key
    ca: pki/ca/ca.crt
    allow: {cn: client}
=== no-services
workers: 2
=== workers-type
workers: two
services: {}
=== workers-range
workers: 0
services: {}
=== bool-type
services:
  api:
    proxy-protocol: yes
=== timeout-type
services:
  api:
    idle-timeout: [1, 2]
=== allow-type
services:
  api:
    allow: [cn, client]
=== unknown-rule
services:
  api:
    allow: {cnn: client}
=== bad-fingerprint
services:
  api:
    allow:
      fingerprint: sha256:zz
=== yaml-syntax
services:
  api:
    listen: 127.0.0.1:8443
   cert: x
=== bad-name
services:
  "api v2":
    listen: 127.0.0.1:8443
=== bad-listen
services:
  api:
    listen: nowhere
=== remote-backend
services:
  api:
    listen: 127.0.0.1:8443
    cert: pki/server.crt
    key: pki/server.key
    ca: pki/ca/ca.crt
    backend: 192.0.2.1:80
    allow: {any: true}
=== tls-min
services:
  api:
    tls-min: "1.1"
=== duplicate-key
services:
  api:
    listen: 127.0.0.1:8443
    listen: 127.0.0.1:8444
=== missing-file
services:
  api:
    listen: 127.0.0.1:8443
    cert: pki/nothere.crt
    key: pki/server.key
    ca: pki/ca/ca.crt
    backend: 127.0.0.1:9
    allow: {cn: client}
=== key-mismatch
services:
  api:
    listen: 127.0.0.1:8443
    cert: pki/server.crt
    key: srv2.key
    ca: pki/ca/ca.crt
    backend: 127.0.0.1:9
    allow: {cn: client}
=== crl-issuer
services:
  api:
    listen: 127.0.0.1:8443
    cert: pki/server.crt
    key: pki/server.key
    ca: pki/ca/ca.crt
    crl: other.crl
    backend: 127.0.0.1:9
    allow: {cn: client}
=== duplicate-listen
services:
  a:
    listen: 127.0.0.1:8443
    cert: pki/server.crt
    key: pki/server.key
    ca: pki/ca/ca.crt
    backend: 127.0.0.1:9
    allow: {cn: client}
  b:
    listen: 127.0.0.1:8443
    cert: pki/server.crt
    key: pki/server.key
    ca: pki/ca/ca.crt
    backend: 127.0.0.1:9
    allow: {cn: client}
@@@
CASES

n=0
while IFS='	' read -r name want; do
	n=$((n + 1))
	want=$(printf '%s\n' "$want" | sed "s|@ROOT@|$ROOT|g")
	"$MTLS" serve --config "$name.yaml" --check >"$T/out" 2>"$T/err"
	rc=$?
	[ $rc -eq 1 ] || { cat "$T/out" "$T/err"; fail "$name: exit $rc, expected 1"; }
	got=$(cat "$T/err")
	[ "$(wc -l <"$T/err")" -eq 1 ] && [ "$got" = "$want" ] ||
	    { echo "got:  $got"; echo "want: $want"; fail "$name: not the expected one-line error"; }
done <<'EXPECTED'
unknown-top	mtls: unknown-top.yaml:1: wokers: unknown key
unknown-key	mtls: unknown-key.yaml:4: services.api.lisen: unknown key
missing-key	mtls: missing-key.yaml:3: services.api: missing key "backend"
no-services	mtls: no-services.yaml:1: top level: missing key "services"
workers-type	mtls: workers-type.yaml:1: workers: expected an integer, got "two"
workers-range	mtls: workers-range.yaml:1: workers: 0 is not between 1 and 256
bool-type	mtls: bool-type.yaml:3: services.api.proxy-protocol: expected true or false, got "yes"
timeout-type	mtls: timeout-type.yaml:3: services.api.idle-timeout: expected a number of seconds, got a list
allow-type	mtls: allow-type.yaml:3: services.api.allow: expected a mapping of rules (cn, dns, uri, ou, email, fingerprint, any), got a list
unknown-rule	mtls: unknown-rule.yaml:3: services.api.allow.cnn: unknown rule (cn, dns, uri, ou, email, fingerprint, any)
bad-fingerprint	mtls: bad-fingerprint.yaml:4: services.api.allow.fingerprint: sha256:zz: expected sha256: and 64 hex digits (colons allowed)
yaml-syntax	mtls: yaml-syntax.yaml:4: YAML: did not find expected key while parsing a block mapping
bad-name	mtls: bad-name.yaml:2: services: a service name is 1 to 63 letters, digits, '_', '.' or '-'
bad-listen	mtls: bad-listen.yaml:3: services.api.listen: nowhere: expected HOST:PORT
remote-backend	mtls: remote-backend.yaml:3: services.api.backend: 192.0.2.1:80: 192.0.2.1:80 is not a loopback address or unix socket; plaintext would cross the network
tls-min	mtls: tls-min.yaml:3: services.api.tls-min: "1.1" is not 1.2 or 1.3
duplicate-key	mtls: duplicate-key.yaml:4: services.api.listen: given twice (first on line 3)
missing-file	mtls: missing-file.yaml: service api: pki/nothere.crt: No such file or directory
key-mismatch	mtls: key-mismatch.yaml: service api: srv2.key: not the key of pki/server.crt (key does not match certificate)
crl-issuer	mtls: crl-issuer.yaml: service api: The CRL in other.crl issued by CN=Other CA is not signed by any CA of the chain (CN=@ROOT@).
duplicate-listen	mtls: duplicate-listen.yaml: services a and b both listen on 127.0.0.1:8443
EXPECTED
[ $n -eq 21 ] || fail "ran $n cases, expected 21"
ok "--check refuses 21 broken files, each with exactly the expected one-line error"

"$MTLS" serve --config crl-issuer.yaml >"$T/out" 2>"$T/err" &
pid=$!
track $pid
wait $pid; rc=$?
[ $rc -eq 1 ] || fail "serve --config with a broken file exited $rc, expected 1"
assert_one_line_error "crl-issuer.yaml: service api: The CRL in other.crl"
ok "serve --config without --check refuses to start on the same checks"

run 2 "$MTLS" serve --config conf/good.yaml --listen 127.0.0.1:1
assert_one_line_error "--config: the services come from the file"
run 2 "$MTLS" serve --check --listen 127.0.0.1:1
assert_one_line_error "--check needs --config"
ok "--config with command-line services, or --check alone, is a usage error"
