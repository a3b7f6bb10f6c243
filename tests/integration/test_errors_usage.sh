#!/bin/sh
# Usage errors exit 2 with one line on stderr: the problem and a pointer to
# --help; --help prints the usage to stdout and exits 0; nothing is written
# either way.
. "$MTLS_TOP/tests/integration/lib.sh"

# stderr is one line that holds TEXT and points at --help.
assert_usage_error() {
	assert_one_line_error "$1"
	assert_contains "$T/err" "--help"
}

for c in "init" "ca init" "ca crl" "csr new" "cert issue" "cert sign" \
    "cert revoke" "cert list" "cert export"; do
	# shellcheck disable=SC2086
	run 0 "$MTLS" $c --help
	assert_contains "$T/out" "usage: mtls $c"
	[ ! -s "$T/err" ] || { cat "$T/err"; fail "mtls $c --help wrote to stderr"; }
done
assert_no_file mtls-pki
ok "--help of every CA subcommand: usage on stdout, exit 0"

run 0 "$MTLS" ca init --dir ca

run 2 "$MTLS" cert issue --ca ca --server --name x --key-type rsa-1024 --out k
assert_usage_error "unknown key type 'rsa-1024' (choose from ec-p256, ec-p384, rsa-2048, rsa-3072, rsa-4096, ed25519)"
run 2 "$MTLS" ca init --dir ca2 --key-type dsa
assert_usage_error "unknown key type 'dsa'"
run 2 "$MTLS" csr new --name x --key-type ec-p521 --out k
assert_usage_error "unknown key type 'ec-p521'"
assert_no_file k.key
assert_no_file k.crt
assert_no_file k.csr
assert_no_file ca2
ok "unknown key type: exit 2, the choices listed"

run 2 "$MTLS" cert issue --ca ca --server --out k
assert_usage_error "--name is required"
run 2 "$MTLS" cert issue --ca ca --name x --out k
assert_usage_error "--server or --client"
run 2 "$MTLS" cert issue --server --name x --out k
assert_usage_error "--ca is required"
run 2 "$MTLS" cert issue --ca ca --server --name x
assert_usage_error "--out is required"
run 2 "$MTLS" ca init
assert_usage_error "--dir is required"
run 2 "$MTLS" ca crl --ca ca
assert_usage_error "--out is required"
run 2 "$MTLS" cert sign --ca ca --client --out k.crt
assert_usage_error "--csr is required"
run 2 "$MTLS" cert revoke --ca ca
assert_usage_error "exactly one of --serial or --cert"
run 2 "$MTLS" cert revoke --ca ca --serial 01 --cert x.crt
assert_usage_error "exactly one of --serial or --cert"
run 2 "$MTLS" cert list
assert_usage_error "--ca is required"
run 2 "$MTLS" cert export --cert a.crt --out a.p12
assert_usage_error "--key is required"
run 2 "$MTLS" csr new --out k
assert_usage_error "--name is required"
ok "missing required options: exit 2"

run 2 "$MTLS" cert issue --ca ca --server --client --name x --out k
assert_usage_error "--server and --client exclude each other"
run 2 "$MTLS" cert sign --ca ca --client --server --csr x.csr --out k.crt
assert_usage_error "--server and --client exclude each other"
ok "--server with --client: exit 2"

run 2 "$MTLS" cert issue --ca ca --server --name x --days ten --out k
assert_usage_error "--days: 'ten' is not a number"
run 2 "$MTLS" cert issue --ca ca --server --name x --days 0 --out k
assert_usage_error "--days: '0' is not a number"
run 2 "$MTLS" ca crl --ca ca --out crl.pem --days -1
assert_usage_error "--days: '-1' is not a number"
run 2 "$MTLS" ca init --dir ca2 --days 99999999999
assert_usage_error "--days"
ok "bad numbers: exit 2"

run 2 "$MTLS" cert issue --ca ca --server --name x --out k --colour
assert_usage_error "unknown option '--colour'"
run 2 "$MTLS" cert list --ca ca -x
assert_usage_error "unknown option '-x'"
run 2 "$MTLS" cert issue --ca ca --server --name x --out
assert_usage_error "needs a value"
run 2 "$MTLS" cert list --ca ca extra
assert_usage_error "unexpected argument 'extra'"
run 2 "$MTLS" init --dir a b
assert_usage_error "unexpected argument 'b'"
run 2 "$MTLS" cert revoke --ca ca --serial 01 --reason sometimes
assert_usage_error "unknown reason 'sometimes'"
ok "unknown options, missing values and stray arguments: exit 2"

# Nothing was written by any of the refused commands.
assert_no_file k.key
assert_no_file k.crt
assert_no_file k.csr
assert_no_file crl.pem
assert_no_file ca2
assert_no_file a
run 0 "$MTLS" cert list --ca ca --json
assert_contains "$T/out" "[]"
ok "no file written and nothing issued by a usage error"
