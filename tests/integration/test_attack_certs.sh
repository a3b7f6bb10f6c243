#!/bin/sh
# Crafted client certificates (built here with openssl) are refused both by
# `mtls cert verify --purpose client` and by `mtls serve --allow-any` (so
# that verification, not a rule, is what refuses them), while a good chain
# from the same root passes both (the control):
#   a leaf signed by a leaf; a v1 intermediate; a CA without keyCertSign; a
#   chain beyond the path length; an e-mail-protection-only certificate; a
#   key with explicit EC curve parameters; and 2000 SANs under 2000 name
#   constraints (OpenSSL CVE-2022-0778/3602 class: cost before trust),
#   refused in bounded time (printed; < 10 s as a hang guard only).
. "$MTLS_TOP/tests/integration/lib.sh"
. "$MTLS_TOP/tests/integration/serve_lib.sh"
. "$MTLS_TOP/tests/integration/scan_lib.sh"

LEAF_EXT='basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth
subjectAltName=DNS:client.example'
CA_EXT='basicConstraints=critical,CA:TRUE
keyUsage=critical,keyCertSign,cRLSign'

serial=100
# cert NAME ISSUER EXT [KEYFILE]: NAME.key (new P-256 key unless KEYFILE),
# NAME.crt signed by ISSUER.key; EXT "" makes a v1 certificate.
cert() {
	if [ -n "${4:-}" ]; then cp "$4" "$1.key"; else
		openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
		    -out "$1.key" 2>/dev/null || fail "genpkey $1"
	fi
	openssl req -new -key "$1.key" -subj "/CN=$1" -out "$1.csr" 2>/dev/null ||
	    fail "req $1"
	serial=$((serial + 1))
	if [ -n "$3" ]; then
		printf '%s\n' "$3" >"$1.ext"
		set -- "$1" "$2" -extfile "$1.ext"
	else
		set -- "$1" "$2"
	fi
	n=$1 iss=$2; shift 2
	openssl x509 -req -in "$n.csr" -CA "$iss.crt" -CAkey "$iss.key" \
	    -set_serial "$serial" -days 30 -sha256 "$@" -out "$n.crt" \
	    2>"$T/x509.err" || { cat "$T/x509.err"; fail "x509 $n"; }
}

openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout root.key -subj "/CN=Attack Root" -days 30 \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" -out root.crt 2>/dev/null ||
    fail "root"

cert int root "$CA_EXT"
cert good int "$LEAF_EXT"
# a leaf signed by a leaf
cert leaf1 int "$LEAF_EXT"
cert leafleaf leaf1 "$LEAF_EXT"
# a v1 intermediate
cert v1int root ""
openssl x509 -in v1int.crt -noout -text | grep -q "Version: 1 " || fail "v1int is not v1"
# A v1 CA has no subject key identifier, and a leaf without an authority
# key identifier is refused for that alone: give it one (the SHA-1 of the
# CA's key, RFC 5280 section 4.2.1.2) so that the v1 CA is what is judged.
kid=$(openssl x509 -in v1int.crt -noout -pubkey | openssl pkey -pubin -outform DER |
    tail -c 65 | sha1sum | cut -c1-40 | sed 's/../&:/g; s/:$//')
cert v1leaf v1int "$LEAF_EXT
authorityKeyIdentifier=DER:30:16:80:14:$kid"
# a CA without keyCertSign
cert nokcs root 'basicConstraints=critical,CA:TRUE
keyUsage=critical,digitalSignature'
cert nokcsleaf nokcs "$LEAF_EXT"
# beyond the path length: root -> int0 (pathlen 0) -> int2 -> leaf
cert int0 root 'basicConstraints=critical,CA:TRUE,pathlen:0
keyUsage=critical,keyCertSign,cRLSign'
cert int2 int0 "$CA_EXT"
cert deepleaf int2 "$LEAF_EXT"
# e-mail protection only
cert email int 'basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=emailProtection
subjectAltName=email:a@client.example'
# explicit curve parameters
openssl ecparam -name prime256v1 -param_enc explicit -genkey -noout \
    -out explicit-in.key 2>/dev/null || fail "explicit key"
cert explicit int "$LEAF_EXT" explicit-in.key
openssl x509 -in explicit.crt -noout -text | grep -q "Field Type" ||
    fail "explicit.crt has no explicit curve parameters"
# 2000 SANs under 2000 name constraints
python3 - <<'PY' || fail "config for the name-constraint certificates"
with open("nc.ext", "w") as f:
    f.write("basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n")
    f.write("nameConstraints=critical,@nc\n[nc]\n")
    for i in range(2000):
        f.write("permitted;DNS.%d=n%d.example.com\n" % (i, i))
with open("sans.ext", "w") as f:
    f.write("basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n")
    f.write("extendedKeyUsage=clientAuth\nsubjectAltName=@alt\n[alt]\n")
    for i in range(2000):
        f.write("DNS.%d=h%d.n%d.example.com\n" % (i, i, (i * 7) % 2000))
PY
serial=$((serial + 1))
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout ncint.key -subj "/CN=ncint" -out ncint.csr 2>/dev/null &&
openssl x509 -req -in ncint.csr -CA root.crt -CAkey root.key -set_serial $serial \
    -days 30 -sha256 -extfile nc.ext -out ncint.crt 2>/dev/null || fail "ncint"
serial=$((serial + 1))
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout manysans.key -subj "/CN=manysans" -out manysans.csr 2>/dev/null &&
openssl x509 -req -in manysans.csr -CA ncint.crt -CAkey ncint.key -set_serial $serial \
    -days 30 -sha256 -extfile sans.ext -out manysans.crt 2>/dev/null || fail "manysans"
ok "crafted certificates built ($(wc -c <manysans.crt) bytes with 2000 SANs)"

# NAME:LEAF:CHAIN: the leaf and the chain the client sends.
cases="good:good:int leafleaf:leafleaf:leaf1,int v1int:v1leaf:v1int
nokcs:nokcsleaf:nokcs pathlen:deepleaf:int2,int0 email:email:int
explicit:explicit:int manysans:manysans:ncint"
# What the refusal must be about (verify's message, then serve's log).
why() {
	case $1 in
	leafleaf) echo "CN=leaf1|CN=leaf1" ;;
	v1int) echo "CN=v1int|CN=v1int" ;;
	nokcs) echo "CN=nokcs|CN=nokcs" ;;
	pathlen) echo "path length|path length" ;;
	email) echo "client authentication|client authentication" ;;
	explicit) echo "explicit|explicit" ;;
	*) echo "|" ;;
	esac
}

chain_file() { # comma list -> chain-NAME.pem
	: >"chain-$1.pem"
	for c in $(echo "$2" | tr , ' '); do cat "$c.crt" >>"chain-$1.pem"; done
}

now_ms() { date +%s%3N; }

for c in $cases; do
	name=${c%%:*} rest=${c#*:} leaf=${rest%%:*} chain=${rest#*:}
	chain_file "$name" "$chain"
	t0=$(now_ms)
	"$MTLS" cert verify --ca root.crt --untrusted "chain-$name.pem" \
	    --purpose client "$leaf.crt" >"$T/out" 2>"$T/err"
	st=$? ms=$(( $(now_ms) - t0 ))
	if [ "$name" = good ]; then
		[ $st -eq 0 ] || { cat "$T/err"; fail "the good chain does not verify"; }
	else
		[ $st -eq 1 ] || { cat "$T/out" "$T/err"; fail "$name: mtls cert verify exited $st, expected 1"; }
		[ -s "$T/err" ] || fail "$name: refused without a reason"
		assert_contains "$T/err" "$(why "$name" | cut -d'|' -f1)"
	fi
	echo "verify $name: exit $st in $ms ms: $(head -n 1 "$T/err")"
	[ $ms -lt 10000 ] || fail "$name: mtls cert verify took $ms ms"
done
ok "mtls cert verify refuses every crafted chain and accepts the good one"

make_pki
start_backend echo
CA_FILE=root.crt
serve_with pki/server --allow-any --workers 1

for c in $cases; do
	name=${c%%:*} rest=${c#*:} leaf=${rest%%:*}
	: >"$T/backend.log"
	n0=$(grep -c "outcome=" "$T/serve.log")
	t0=$(now_ms)
	(printf 'ping\n'; sleep "$PAUSE") | timeout 20 openssl s_client \
	    -connect "127.0.0.1:$PORT" -servername localhost \
	    -CAfile pki/ca/ca.crt -cert "$leaf.crt" -key "$leaf.key" \
	    -cert_chain "chain-$name.pem" >"$T/sc.out" 2>&1
	wait_log "outcome=" $((n0 + 1))
	ms=$(( $(now_ms) - t0 ))
	line=$(grep "outcome=" "$T/serve.log" | tail -n 1)
	echo "serve $name: $ms ms: $line"
	if [ "$name" = good ]; then
		echo "$line" | grep -q "outcome=ok" || fail "the good chain is refused by serve"
		[ -s "$T/backend.log" ] || fail "the good client did not reach the backend"
	else
		echo "$line" | grep -q "outcome=ok" && fail "$name: accepted by mtls serve"
		echo "$line" | grep -qF "$(why "$name" | cut -d'|' -f2)" ||
		    fail "$name: refused for another reason than expected"
		backend_saw_nothing "$name"
	fi
	[ $ms -lt 10000 ] || fail "$name: serve took $ms ms to decide"
done
kill -0 "$SPID" || fail "mtls serve died"
ok "mtls serve refuses every crafted client chain and accepts the good one"
