# config_servers_lib.sh - the scenario shared by test_config_nginx.sh,
# test_config_apache.sh and test_config_haproxy.sh: a server run with
# exactly the snippet "mtls config" made, in front of a recording backend,
# facing good, missing, foreign, expired, revoked, unauthorized and spoofing
# clients.  Source it after lib.sh.
#
# config_pki: in pki/ the PKI of mtls init; int/ an intermediate CA under
#   it that issues the clients alice and carol (valid), eve (revoked) and,
#   with faketime, old (expired); other/ an unrelated CA with its client
#   mallory.  clientca.pem holds root and intermediate, crl.pem a CRL of
#   each.
# config_backend: the recorder on $bport, logging to $T/rec.log.
# config_make SW: the snippet for SW (listen 127.0.0.1:$port, allow CN
#   alice, identity headers) in $T/snippet.conf; sets $port.
# config_scenario NAME: the checks, once the server listens on $port.

config_pki() {
	q() { "$@" >/dev/null 2>"$T/setup.err" || { cat "$T/setup.err"; fail "setup: $*"; }; }
	q "$MTLS" init --dir pki
	q "$MTLS" ca init --dir int --parent pki/ca --name "Team CA"
	for c in alice carol eve; do
		q "$MTLS" cert issue --ca int --client --name "$c" --out "$c"
	done
	# A name that holds the allowed one after an escaped comma: its
	# subject is CN=mallet\,CN=alice.
	q "$MTLS" cert issue --ca int --client --name "mallet,CN=alice" \
	    --out mallet
	q "$MTLS" cert revoke --ca int --cert eve.crt
	q "$MTLS" ca init --dir other --name "Other CA"
	q "$MTLS" cert issue --ca other --client --name mallory --out mallory
	q "$MTLS" ca crl --ca pki/ca --out root.crl
	q "$MTLS" ca crl --ca int --out int.crl
	cat root.crl int.crl >crl.pem
	cat pki/ca/ca.crt int/ca.crt >clientca.pem
	HAVE_OLD=0
	if command -v faketime >/dev/null 2>&1; then
		# Signed by openssl under faketime: an ASan build of mtls does not
		# run under faketime's LD_PRELOAD.
		printf '%s\n' 'basicConstraints=critical,CA:FALSE' \
		    'keyUsage=critical,digitalSignature' \
		    'extendedKeyUsage=clientAuth' 'subjectKeyIdentifier=hash' \
		    'authorityKeyIdentifier=keyid' >old.ext
		openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
		    -nodes -keyout old.key -subj /CN=alice -out old.csr \
		    2>/dev/null &&
		faketime -f '-10d' openssl x509 -req -in old.csr -CA int/ca.crt \
		    -CAkey int/ca.key -CAcreateserial -days 1 -extfile old.ext \
		    -out old.crt 2>/dev/null || fail "cannot make old.crt"
		HAVE_OLD=1
	fi
}

config_backend() {
	bport=$(free_port)
	python3 "$MTLS_TOP/tests/integration/header_recorder.py" "$bport" \
	    "$T/rec.log" &
	track $!
	: >"$T/rec.log"
	wait_port "$bport"
}

config_make() {
	port=$(free_port)
	run 0 "$MTLS" config "$1" --pki pki --ca clientca.pem --crl crl.pem \
	    --listen "127.0.0.1:$port" --backend "http://127.0.0.1:$bport" \
	    --allow-cn alice --identity-headers
	cp "$T/out" "$T/snippet.conf"
	run 0 "$MTLS" config "$1" --pki pki --ca clientca.pem --crl crl.pem \
	    --listen "127.0.0.1:$port" --backend "http://127.0.0.1:$bport" \
	    --allow-cn alice --identity-headers --json
	python3 - "$T/out" "$T/snippet.conf" <<'PY' || fail "--json differs from the text"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["lines"] == open(sys.argv[2]).read().split("\n")[:-1]
roles = {f["role"] for f in d["files"]}
assert {"certificate", "key", "client CA", "CRL"} <= roles, roles
PY
}

# curl_code ARGS...: the HTTP status curl got (000 when TLS failed).
curl_code() {
	curl -s -o "$T/body" -w '%{http_code}' --max-time 10 \
	    --cacert pki/ca/ca.crt "$@" "https://localhost:$port/" 2>/dev/null
}

# refused NAME ARGS...: curl with ARGS gets no 200 and the backend hears
# nothing.
refused() {
	what=$1; shift
	before=$(wc -l <"$T/rec.log")
	code=$(curl_code "$@")
	after=$(wc -l <"$T/rec.log")
	[ "$code" != 200 ] || fail "$what: got 200"
	[ "$before" = "$after" ] || fail "$what: the backend saw the request"
	ok "$SERVER: $what refused (HTTP status $code, backend untouched)"
}

config_scenario() {
	code=$(curl_code --cert alice.crt --key alice.key)
	[ "$code" = 200 ] || { cat "$T/body"; fail "alice: status $code"; }
	python3 - "$T/rec.log" <<'PY' || fail "identity headers wrong"
import json, sys
h = dict((k.lower(), v) for k, v in json.loads(open(sys.argv[1]).readlines()[-1])["headers"])
assert h.get("x-ssl-client-verify") == "SUCCESS", h
assert "CN=alice" in h.get("x-ssl-client-subject", ""), h
assert "CN=Team CA" in h.get("x-ssl-client-issuer", ""), h
PY
	ok "$SERVER: alice (issued by the intermediate) gets through; the backend sees her identity"

	refused "no certificate"
	refused "another CA's certificate" --cert mallory.crt --key mallory.key
	refused "a revoked certificate" --cert eve.crt --key eve.key
	if [ "$HAVE_OLD" = 1 ]; then
		refused "an expired certificate" --cert old.crt --key old.key
	fi
	# carol is valid, but the rule allows only alice.
	code=$(curl_code --cert carol.crt --key carol.key)
	[ "$code" = 403 ] || fail "carol: status $code, expected 403"
	ok "$SERVER: carol, valid but not allowed by the rule, gets 403"
	code=$(curl_code --cert mallet.crt --key mallet.key)
	[ "$code" = 403 ] || fail "CN=mallet\\,CN=alice: status $code, expected 403"
	ok "$SERVER: a CN that ends in \",CN=alice\" is not taken for alice (403)"

	code=$(curl_code --cert alice.crt --key alice.key \
	    -H "X-SSL-Client-Subject: CN=admin" -H "X_SSL_Client_Subject: CN=admin" \
	    -H "X-SSL-Client-Verify: FORGED")
	[ "$code" = 200 ] || fail "spoof: status $code"
	python3 - "$T/rec.log" <<'PY' || fail "a client's own identity header reached the backend"
import json, sys
pairs = json.loads(open(sys.argv[1]).readlines()[-1])["headers"]
names = [k.lower().replace("_", "-") for k, v in pairs]
assert names.count("x-ssl-client-subject") == 1, pairs
assert names.count("x-ssl-client-verify") == 1, pairs
assert not any("admin" in v or "FORGED" in v for k, v in pairs), pairs
PY
	ok "$SERVER: a client's own X-SSL-Client-* headers (both spellings) never reach the backend"

	python3 - "$port" <<'PY' >"$T/py.out" 2>&1 || { cat "$T/py.out"; fail "python requests"; }
import sys, requests
url = "https://localhost:%s/" % sys.argv[1]
r = requests.get(url, cert=("alice.crt", "alice.key"), verify="pki/ca/ca.crt", timeout=10)
assert r.status_code == 200 and r.text == "recorded\n", (r.status_code, r.text)
try:
    r = requests.get(url, verify="pki/ca/ca.crt", timeout=10)
    assert r.status_code != 200, r.status_code
except requests.exceptions.RequestException:
    pass
PY
	ok "$SERVER: python requests: alice gets through, no certificate is refused"

	run 0 "$MTLS" connect "localhost:$port" --cert alice.crt --key alice.key \
	    --ca pki/ca/ca.crt --http
	assert_contains "$T/out" "Result: mutual TLS OK"
	run 1 "$MTLS" connect "localhost:$port" --cert eve.crt --key eve.key \
	    --ca pki/ca/ca.crt --http
	run 0 "$MTLS" doctor --connect "localhost:$port" --cert alice.crt \
	    --key alice.key --ca pki/ca/ca.crt
	run 1 "$MTLS" doctor --connect "localhost:$port" --cert eve.crt \
	    --key eve.key --ca pki/ca/ca.crt
	ok "$SERVER: mtls connect --http and mtls doctor --connect agree (alice OK, eve refused)"
}
