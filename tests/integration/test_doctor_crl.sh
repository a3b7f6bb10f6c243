#!/bin/sh
# mtls doctor, revocation: a root and an intermediate made with mtls itself,
# a revoked and a valid client, and CRLs that are current, expired, not yet
# valid, from another CA, or missing for one CA of the chain; each case
# asserts the exact finding code and the exit status.
. "$MTLS_TOP/tests/integration/lib.sh"
. "$MTLS_TOP/tests/integration/doctor_cases.sh"
command -v faketime >/dev/null || skip "faketime is not installed"

q "$MTLS" ca init --dir root --name "Crl Root"
q "$MTLS" ca init --dir int --parent root --name "Crl Intermediate"
q "$MTLS" ca init --dir stranger --name "Stranger CA"
q "$MTLS" cert issue --ca int --client --name alice --out alice
q "$MTLS" cert issue --ca int --client --name bob --out bob
q "$MTLS" cert revoke --ca int --cert bob.crt --reason keyCompromise
q "$MTLS" ca crl --ca int --out int.crl
q "$MTLS" ca crl --ca root --out root.crl
q "$MTLS" ca crl --ca stranger --out stranger.crl
q faketime -f -10d "$MTLS" ca crl --ca int --out int-old.crl --days 1
q faketime -f +2d "$MTLS" ca crl --ca int --out int-future.crl
cat root.crl int.crl >all.crl
cat root.crl int-old.crl >old.crl
cat root.crl int-future.crl >future.crl
cat root.crl int.crl stranger.crl >with-stranger.crl

base="--cert alice.crt --key alice.key --ca root/ca.crt --role client"
# shellcheck disable=SC2086
check healthy-crl 0 ok-crl $base --crl all.crl
assert_not_contains "$T/out" '"severity": "error"'
check revoked 1 cert-revoked --cert bob.crt --key bob.key --ca root/ca.crt \
    --crl all.crl
assert_contains "$T/out" "keyCompromise"
# shellcheck disable=SC2086
check crl-expired 1 crl-expired $base --crl old.crl
# shellcheck disable=SC2086
check crl-not-yet-valid 1 crl-not-yet-valid $base --crl future.crl
# shellcheck disable=SC2086
check crl-wrong-issuer 1 crl-wrong-issuer $base --crl with-stranger.crl
assert_contains "$T/out" "Stranger CA"
# shellcheck disable=SC2086
check crl-missing-intermediate 1 crl-missing-for-intermediate $base \
    --crl root.crl
assert_contains "$T/out" "Crl Intermediate"
# shellcheck disable=SC2086
check crl-missing-root 1 crl-missing-for-root $base --crl int.crl
check crl-only-wrong-ca 1 crl-wrong-issuer --ca root/ca.crt \
    --crl stranger.crl

check_codes
echo "all $NPASS passed"
