#!/bin/sh
# mtls doctor, local checks: a table of broken setups, each built here with
# openssl (or faketime + openssl for times), each asserting the exact
# finding code it must produce and the exit status; healthy setups produce
# no error and exit 0.
. "$MTLS_TOP/tests/integration/lib.sh"
. "$MTLS_TOP/tests/integration/doctor_cases.sh"
command -v faketime >/dev/null || skip "faketime is not installed"

# ---- fixtures -------------------------------------------------------

key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
    -out "$1" 2>/dev/null || fail "cannot make key $1"; }

# root NAME CN: a self-signed CA (CA:TRUE, keyCertSign).
root() {
	key "$1.key"
	openssl req -x509 -new -key "$1.key" -subj "/CN=$2" -days 3650 \
	    -addext "basicConstraints=critical,CA:TRUE" \
	    -addext "keyUsage=critical,keyCertSign,cRLSign" \
	    -out "$1.crt" 2>/dev/null || fail "cannot make root $1"
}

# sign ISSUER KEY SUBJECT DAYS OUT EXT-LINE... [-- extra x509 options]
# Signs a certificate for KEY by ISSUER with the extension lines given.
sign() {
	issuer=$1 k=$2 subj=$3 days=$4 out=$5; shift 5
	: >"$T/ext.cnf"
	extra=""
	while [ $# -gt 0 ]; do
		if [ "$1" = -- ]; then shift; extra="$*"; break; fi
		echo "$1" >>"$T/ext.cnf"; shift
	done
	echo "subjectKeyIdentifier=hash" >>"$T/ext.cnf"
	echo "authorityKeyIdentifier=keyid:always" >>"$T/ext.cnf"
	openssl req -new -key "$k" -subj "$subj" -out "$T/req.csr" \
	    2>/dev/null &&
	# shellcheck disable=SC2086
	openssl x509 -req -in "$T/req.csr" -CA "$issuer.crt" \
	    -CAkey "$issuer.key" -set_serial "0x$(openssl rand -hex 12)" \
	    -days "$days" -extfile "$T/ext.cnf" $extra -out "$out" \
	    2>/dev/null || fail "cannot sign $out"
}

SRV_EXT="basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost,IP:127.0.0.1"
CLI_EXT="basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth"

# Splits a newline-separated extension list into sign's arguments.
signx() { # ISSUER KEY SUBJECT DAYS OUT EXTS [-- extra]
	i=$1 k=$2 s=$3 d=$4 o=$5 e=$6; shift 6
	old_ifs=$IFS; IFS='
'
	# shellcheck disable=SC2086
	set -- $e "$@"
	IFS=$old_ifs
	sign "$i" "$k" "$s" "$d" "$o" "$@"
}

root root "Doctor Root"
root other "Other Root"
key int.key
sign root int.key "/CN=Doctor Intermediate" 1825 int.crt \
    "basicConstraints=critical,CA:TRUE,pathlen:0" \
    "keyUsage=critical,keyCertSign,cRLSign"
key srv.key
signx int srv.key "/CN=localhost" 90 srv.crt "$SRV_EXT"
cat srv.crt int.crt >srv-chain.crt
key cli.key
signx int cli.key "/CN=client" 90 cli.crt "$CLI_EXT"
cat cli.crt int.crt >cli-chain.crt

# broken ones
mkdir adir
printf 'hello, this is not a certificate\n' >garbage.txt
: >empty.crt
openssl req -new -key cli.key -subj /CN=req -out req.csr 2>/dev/null
openssl pkcs12 -export -in cli.crt -inkey cli.key -passout pass:x \
    -out bundle.p12 2>/dev/null || fail "cannot make bundle.p12"
cat int.crt srv.crt >srv-reversed.crt
openssl pkey -in cli.key -aes256 -passout pass:secret -out cli-enc.key \
    2>/dev/null || fail "cannot encrypt key"
chmod 600 srv.key cli.key cli-enc.key
cp srv.key srv-open.key
chmod 644 srv-open.key
cat root.crt int.crt >root-int.crt
cat srv.crt int.crt other.crt >srv-extra.crt
key self.key
openssl req -x509 -new -key self.key -subj /CN=localhost -days 30 \
    -addext "subjectAltName=DNS:localhost" -out self.crt 2>/dev/null
key future.key
faketime -f +3h true 2>/dev/null || skip "faketime does not work here"
openssl req -new -key future.key -subj /CN=localhost -out future.csr \
    2>/dev/null || fail "cannot make future.csr"
printf '%s\n' "$SRV_EXT" subjectKeyIdentifier=hash \
    authorityKeyIdentifier=keyid:always >srv.ext
faketime -f +3h openssl x509 -req -in future.csr -CA int.crt -CAkey int.key \
    -set_serial 0x1001 -days 90 -extfile srv.ext -out future.crt 2>/dev/null ||
    fail "cannot make future.crt"
cat future.crt int.crt >future-chain.crt
faketime -f -40d openssl x509 -req -in future.csr -CA int.crt -CAkey int.key \
    -set_serial 0x1002 -days 10 -extfile srv.ext -out expired.crt 2>/dev/null ||
    fail "cannot make expired.crt"
cat expired.crt int.crt >expired-chain.crt
signx int future.key "/CN=localhost" 10 soon.crt "$SRV_EXT"
cat soon.crt int.crt >soon-chain.crt
key noeku.key
signx int noeku.key "/CN=localhost" 90 nods.crt "basicConstraints=CA:FALSE
keyUsage=critical,keyEncipherment
subjectAltName=DNS:localhost"
cat nods.crt int.crt >nods-chain.crt
signx int noeku.key "/CN=legacy.example" 90 cnonly.crt \
    "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth"
cat cnonly.crt int.crt >cnonly-chain.crt
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -out weak.key \
    2>/dev/null || fail "cannot make weak.key"
signx int weak.key "/CN=localhost" 90 weak.crt "$SRV_EXT"
cat weak.crt int.crt >weak-chain.crt
signx int noeku.key "/CN=localhost" 90 sha1.crt "$SRV_EXT" -- -sha1
cat sha1.crt int.crt >sha1-chain.crt

# ---- the table --------------------------------------------------------
# check NAME STATUS CODE ARGS... (doctor_cases.sh): "none" is a healthy
# setup, with no error at all.

check healthy-server 0 none --cert srv-chain.crt --key srv.key \
    --ca root.crt --role server --name localhost
check healthy-server-ip 0 none --cert srv-chain.crt --key srv.key \
    --ca root.crt --name 127.0.0.1
check healthy-client 0 none --cert cli-chain.crt --key cli.key \
    --ca root.crt --role client
check file-missing 1 file-missing --cert nope.crt --key srv.key
check file-missing-ca 1 file-missing --cert srv-chain.crt --ca nope/ca.crt
check file-unreadable 1 file-unreadable --cert adir --key srv.key
check not-pem 1 not-pem-or-der --cert garbage.txt
check empty-file 1 not-pem-or-der --cert empty.crt
check key-as-cert 1 wrong-object-kind --cert srv.key --key srv.key
check csr-as-cert 1 wrong-object-kind --cert req.csr
check p12-as-cert 1 wrong-object-kind --cert bundle.p12
check cert-as-key 1 wrong-object-kind --cert srv-chain.crt --key srv.crt
check crl-is-cert 1 wrong-object-kind --ca root.crt --crl root.crt
check wrong-order 1 chain-wrong-order --cert srv-reversed.crt --key srv.key \
    --ca root.crt
check extra-cert 0 chain-extra-cert --cert srv-extra.crt --key srv.key \
    --ca root.crt --name localhost
check key-mismatch 1 key-mismatch --cert srv-chain.crt --key cli.key
check key-encrypted 1 key-encrypted-no-passphrase --cert cli-chain.crt \
    --key cli-enc.key
MTLS_KEY_PASSPHRASE=wrong check key-wrong-pass 1 key-wrong-passphrase \
    --cert cli-chain.crt --key cli-enc.key
MTLS_KEY_PASSPHRASE=secret check key-right-pass 0 ok-key-match \
    --cert cli-chain.crt --key cli-enc.key --ca root.crt --role client
check key-permissions 0 key-permissions --cert srv-chain.crt \
    --key srv-open.key --ca root.crt --name localhost
check missing-intermediate 1 chain-missing-intermediate --cert srv.crt \
    --key srv.key --ca root.crt
assert_contains "$T/out" "Doctor Intermediate"
check untrusted-root 1 chain-untrusted --cert srv-chain.crt --ca other.crt
assert_contains "$T/out" "Doctor Root"
check incomplete-chain 0 chain-incomplete --cert srv.crt --key srv.key \
    --ca root-int.crt --name localhost
check ca-not-ca 1 ca-not-ca --cert srv-chain.crt --ca cli.crt
check self-signed 1 leaf-self-signed --cert self.crt --key self.key \
    --ca root.crt --name localhost
check not-yet-valid 1 cert-not-yet-valid --cert future-chain.crt \
    --key future.key --ca root.crt
check clock-skew 1 clock-skew --cert future-chain.crt --ca root.crt
check expired 1 cert-expired --cert expired-chain.crt --key future.key \
    --ca root.crt
check expires-soon 0 cert-expires-soon --cert soon-chain.crt \
    --key future.key --ca root.crt --name localhost
check no-clientauth 1 usage-no-clientauth --cert srv-chain.crt \
    --key srv.key --ca root.crt --role client
check no-serverauth 1 usage-no-serverauth --cert cli-chain.crt \
    --key cli.key --ca root.crt --role server
check no-digitalsignature 1 usage-no-digitalsignature \
    --cert nods-chain.crt --ca root.crt
check name-not-in-san 1 name-not-in-san --cert srv-chain.crt \
    --ca root.crt --name api.example.com
check cn-without-san 1 cn-without-san --cert cnonly-chain.crt \
    --ca root.crt --role server
check weak-key 1 weak-key --cert weak-chain.crt --key weak.key --ca root.crt
check sha1 1 sha1-signature --cert sha1-chain.crt --ca root.crt

# Usage errors exit 2 and say why on stderr.
run 2 "$MTLS" doctor
assert_contains "$T/err" "nothing to check"
run 2 "$MTLS" doctor --role admin --cert srv.crt
run 2 "$MTLS" doctor --connect no-port-here
assert_contains "$T/err" "HOST:PORT"
run 2 "$MTLS" doctor --connect 127.0.0.1:1 --role server
run 2 "$MTLS" doctor --servername x --cert srv.crt
ok "usage errors exit 2"

# Text output: each problem with its fix, no colour when not a terminal.
run 1 "$MTLS" doctor --cert srv-chain.crt --key cli.key
assert_contains "$T/out" "key-mismatch"
assert_contains "$T/out" "fix: "
if grep -q "$(printf '\033')" "$T/out"; then fail "colour codes in a pipe"; fi
ok "text output has the fix and no colour in a pipe"

check_codes
echo "all $NPASS passed"
