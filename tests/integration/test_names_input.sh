#!/bin/sh
# Names as a person types them: control characters and names of only
# spaces are refused; a common name over 64 characters says the limit
# without echoing the name back; an internationalized host name goes into
# the SAN as its A-label (libidn2), or is refused saying why; --name
# "CN=evil,O=x" warns that it looks like a distinguished name.
. "$MTLS_TOP/tests/integration/lib.sh"

run 0 "$MTLS" init --dir pki
run 1 "$MTLS" cert issue --ca pki/ca --client --name "$(printf 'a\tb')" --out n1
assert_one_line_error "control character"
run 1 "$MTLS" csr new --name "$(printf 'x\033[31m')" --out n1c
assert_one_line_error "control character"
run 1 "$MTLS" cert issue --ca pki/ca --client --name "   " --out n2
assert_one_line_error "only spaces"
ok "control characters and whitespace-only names refused"

long=$(python3 -c 'print("x" * 100000)')
run 1 "$MTLS" cert issue --ca pki/ca --client --name "$long" --out n3
assert_one_line_error "a common name is at most 64"
[ "$(wc -c <"$T/err")" -lt 300 ] || fail "the error echoes the long name: $(wc -c <"$T/err") bytes"
ok "a 100,000-character name: the limit, not the name, in the error"

run 0 "$MTLS" cert issue --ca pki/ca --server --name "bücher.example" --out idn
run 0 "$MTLS" cert inspect idn.crt
assert_contains "$T/out" "xn--bcher-kva.example"
run 0 "$MTLS" cert issue --ca pki/ca --server --name web --dns "straße.example" --out idn2
run 0 "$MTLS" cert inspect idn2.crt
assert_contains "$T/out" "xn--strae-oqa.example"
run 1 "$MTLS" cert issue --ca pki/ca --server --name web --dns "a‐b..example" --out idn3
assert_one_line_error "not a valid"
ok "internationalized host names: A-labels in the SAN, or refused"

run 0 "$MTLS" cert issue --ca pki/ca --client --name "CN=evil,O=x" --out dn
assert_contains "$T/err" "looks like a distinguished name"
ok "--name that looks like a DN: warned"

# ca init --name goes through the same check (and makes no directory).
run 1 "$MTLS" ca init --dir badca1 --name "$(printf 'a\tb')"
assert_one_line_error "control character"
printf '\t' | grep -qF -f - "$T/err" && fail "the error echoes the control character"
assert_no_file badca1
run 1 "$MTLS" ca init --dir badca2 --name "   "
assert_one_line_error "only spaces"
run 1 "$MTLS" ca init --dir badca3 --name "$long"
assert_one_line_error "a common name is at most 64"
[ "$(wc -c <"$T/err")" -lt 300 ] || fail "ca init echoes the long name: $(wc -c <"$T/err") bytes"
assert_no_file badca3
run 0 "$MTLS" ca init --dir dnca --name "CN=evil,O=x"
assert_contains "$T/err" "looks like a distinguished name"
ok "ca init --name: the same name check and DN warning as cert issue"
