#!/bin/sh
# Every key type works for a CA and for a leaf, and openssl verifies each.
. "$MTLS_TOP/tests/integration/lib.sh"

for kt in ec-p256 ec-p384 rsa-2048 rsa-3072 ed25519; do
	run 0 "$MTLS" ca init --dir "ca-$kt" --key-type "$kt" --name "CA $kt"
	assert_contains "$T/out" "$kt"
	run 0 "$MTLS" cert issue --ca "ca-$kt" --server --name "$kt.example.com" \
	    --key-type "$kt" --out "leaf-$kt"
	assert_mode "leaf-$kt.key" 600
	run 0 openssl verify -CAfile "ca-$kt/ca.crt" -purpose sslserver "leaf-$kt.crt"
	assert_contains "$T/out" "OK"
	openssl x509 -in "leaf-$kt.crt" -noout -text >"leaf-$kt.txt"
	case $kt in
	ec-p256) assert_contains "leaf-$kt.txt" "prime256v1" ;;
	ec-p384) assert_contains "leaf-$kt.txt" "secp384r1" ;;
	rsa-2048) assert_contains "leaf-$kt.txt" "(2048 bit)" ;;
	rsa-3072) assert_contains "leaf-$kt.txt" "(3072 bit)" ;;
	ed25519) assert_contains "leaf-$kt.txt" "ED25519" ;;
	esac
	ok "$kt: CA and leaf made, openssl verifies, key type as asked"
done

# RSA-4096 key generation is slow on a shared machine: one leaf under an
# EC CA, and a CSR (key-type parsing is the same path for every command).
run 0 "$MTLS" cert issue --ca ca-ec-p256 --client --name big --key-type rsa-4096 --out big
openssl x509 -in big.crt -noout -text | grep -q "(4096 bit)" || fail "big.crt is not RSA-4096"
run 0 openssl verify -CAfile ca-ec-p256/ca.crt -purpose sslclient big.crt
ok "rsa-4096 leaf under an EC CA verifies"

# Mixed: an RSA root with an Ed25519 intermediate issuing an EC leaf.
run 0 "$MTLS" ca init --dir int-ed --parent ca-rsa-2048 --key-type ed25519
run 0 "$MTLS" cert issue --ca int-ed --client --name mixed --out mixed
openssl x509 -in mixed.crt -out mixed-leaf.pem
run 0 openssl verify -CAfile ca-rsa-2048/ca.crt -untrusted int-ed/ca.crt \
    -purpose sslclient mixed-leaf.pem
ok "mixed chain RSA -> Ed25519 -> EC verifies"
