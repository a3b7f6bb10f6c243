#!/bin/sh
# mtls ca serve refuses, each with its HTTP status and a reason in the log:
# no authentication, an unknown, reused or expired token, names outside the
# token, a CSR whose signature does not verify, a 1 MB body, re-enrollment
# with changed names, with a revoked or an expired certificate, a bootstrap
# certificate asking for another name, and too many requests.
. "$MTLS_TOP/tests/integration/lib.sh"
. "$MTLS_TOP/tests/integration/est_lib.sh"

est_ca
# A device maker's CA, whose certificates may enroll for their own names.
run 0 "$MTLS" ca init --dir maker --name "Maker CA"
run 0 "$MTLS" cert issue --ca maker --client --name dev-boot --out maker-dev
est_start --bootstrap-ca maker/ca.crt --rate-limit 5

# refused STATUS OUTCOME: the last est_post answered STATUS, and the log's
# last request line says OUTCOME with a reason.
refused() {
	est_code "$1"
	line=$(grep ' path=' "$T/ca.log" | tail -n 1)
	case $line in
	*"status=$1 "*"outcome=$2 reason="*) ;;
	*) echo "$line"; fail "the log does not say status=$1 outcome=$2 with a reason" ;;
	esac
}

token() { # NAME [ARGS...]
	n=$1; shift
	"$MTLS" ca token --ca ca --name "$n" "$@" 2>/dev/null ||
	    fail "ca token --name $n failed"
}

est_csr dev1 dev1.b64 "DNS:dev1.example.com"

# No authentication at all: 401 with the Basic challenge.
curl -sS --cacert ca/ca.crt -D hdr -o /dev/null \
    -H 'Content-Type: application/pkcs10' --data-binary @dev1.b64 \
    "$EST_URL/.well-known/est/simpleenroll"
assert_contains hdr "HTTP/1.1 401"
assert_contains hdr 'WWW-Authenticate: Basic realm="mtls EST"'
line=$(grep ' path=' "$T/ca.log" | tail -n 1)
case $line in *"outcome=no_authentication reason="*) ;; *) fail "log: $line" ;; esac
ok "no authentication: 401, WWW-Authenticate: Basic"

est_post simpleenroll dev1.b64 --user "dev1:not-a-token"
refused 401 bad_token
ok "an unknown token: 401 bad_token"

tok=$(token dev1 --dns dev1.example.com)
est_post simpleenroll dev1.b64 --user "dev1:$tok"
est_code 200
est_p7_cert dev1.crt
est_post simpleenroll dev1.b64 --user "dev1:$tok"
refused 401 token_used
ok "a reused token: 401 token_used"

tok=$(token dev2 --ttl 1s)
sleep 2
est_csr dev2 dev2.b64
est_post simpleenroll dev2.b64 --user "dev2:$tok"
refused 401 token_expired
ok "an expired token: 401 token_expired"

tok=$(token dev3 --dns a.example.com)
est_csr dev3 dev3.b64 "DNS:b.example.com"
est_post simpleenroll dev3.b64 --user "dev3:$tok"
refused 403 names_not_allowed
assert_contains "$T/resp" "DNS:b.example.com"
est_csr other other.b64 "DNS:a.example.com"
est_post simpleenroll other.b64 --user "dev3:$tok"
refused 403 names_not_allowed
# The refusals did not use the token up.
est_csr dev3 dev3ok.b64 "DNS:a.example.com"
est_post simpleenroll dev3ok.b64 --user "dev3:$tok"
est_code 200
ok "names outside the token (a SAN, the CN): 403 names_not_allowed, the token still usable"

# A CSR altered after signing: the last byte of its signature flipped.
tok=$(token dev4)
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout dev4.key -subj /CN=dev4 -outform DER -out dev4.der 2>/dev/null
python3 -c '
import sys
b = bytearray(open("dev4.der", "rb").read()); b[-1] ^= 1
open("dev4.der", "wb").write(b)'
base64 dev4.der >dev4.b64
est_post simpleenroll dev4.b64 --user "dev4:$tok"
refused 400 bad_csr
assert_contains "$T/resp" "signature does not verify"
ok "a CSR with a bad signature: 400 bad_csr"

head -c 1048576 /dev/zero | base64 >big.b64
est_post simpleenroll big.b64 --user "dev4:$tok"
refused 413 body_too_large
ok "a 1 MB body: 413 body_too_large"

# Re-enrollment that changes the names.
openssl req -new -key dev1.key -subj /CN=dev1 \
    -addext "subjectAltName=DNS:dev1.example.com,DNS:evil.example.com" \
    -outform DER 2>/dev/null | base64 >more.b64
est_post simplereenroll more.b64 --cert dev1.crt --key dev1.key
refused 403 names_changed
openssl req -new -key dev1.key -subj /CN=root \
    -addext "subjectAltName=DNS:dev1.example.com" -outform DER 2>/dev/null |
    base64 >cn.b64
est_post simplereenroll cn.b64 --cert dev1.crt --key dev1.key
refused 403 names_changed
ok "re-enrollment with changed names (a SAN, the CN): 403 names_changed"

openssl req -new -key dev1.key -subj /CN=dev1 \
    -addext "subjectAltName=DNS:dev1.example.com" -outform DER 2>/dev/null |
    base64 >same.b64
run 0 "$MTLS" cert revoke --ca ca --cert dev1.crt --reason keyCompromise
est_post simplereenroll same.b64 --cert dev1.crt --key dev1.key
refused 403 revoked
ok "re-enrollment with a revoked certificate: 403 revoked"

# An expired certificate never gets past TLS: certificate_expired, logged.
command -v faketime >/dev/null || skip "faketime is not installed"
faketime -f -3d "$MTLS" cert issue --ca ca --client --name old --days 1 \
    --out old >/dev/null 2>&1 || fail "cannot issue a certificate in the past"
openssl req -new -key old.key -subj /CN=old -outform DER 2>/dev/null |
    base64 >old.b64
est_post simplereenroll old.b64 --cert old.crt --key old.key
est_code 000
line=$(grep 'outcome=rejected' "$T/ca.log" | tail -n 1)
case $line in *"expired"*) ;; *) fail "no rejected line with 'expired' in the log: $line" ;; esac
ok "re-enrollment with an expired certificate: refused in TLS (certificate_expired), logged"

# A bootstrap certificate enrolls for its own name, not for another.
est_csr dev-boot bootreq.b64
est_post simpleenroll bootreq.b64 --cert maker-dev.crt --key maker-dev.key
est_code 200
est_p7_cert bootnew.crt
run 0 openssl verify -CAfile ca/ca.crt bootnew.crt
est_csr someone-else else.b64
est_post simpleenroll else.b64 --cert maker-dev.crt --key maker-dev.key
refused 403 names_not_allowed
ok "a bootstrap CA's certificate: enrolls for its CN, 403 for another"

# --rate-limit 5: requests without credentials from one address.
i=0
while [ $i -lt 6 ]; do
	est_post simpleenroll dev1.b64
	i=$((i + 1))
done
refused 429 rate_limited
ok "past --rate-limit: 429 rate_limited"

curl -sS --cacert ca/ca.crt "$EST_URL/metrics" >metrics
for r in no_authentication bad_token token_used token_expired names_not_allowed \
    bad_csr body_too_large names_changed revoked rate_limited; do
	grep -q "^mtls_ca_refused_total{reason=\"$r\"} [1-9]" metrics ||
	    { cat metrics; fail "metrics do not count $r"; }
done
ok "every refusal is counted in mtls_ca_refused_total{reason}"
