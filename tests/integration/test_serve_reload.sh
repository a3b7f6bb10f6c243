#!/bin/sh
# Reload: a long transfer stays up through five SIGHUPs with its SHA-256
# intact; a broken certificate file on reload keeps the old configuration
# (and says why); after revoking a client and reloading the CRL, that
# client's new handshakes and its session resumptions are refused.
. "$MTLS_TOP/tests/integration/lib.sh"
. "$MTLS_TOP/tests/integration/serve_lib.sh"

CLIENT="$MTLS_TOP/tests/integration/tls_client.py"
make_pki
run 0 "$MTLS" ca crl --ca pki/ca --out crl.pem
start_backend sha
start_serve --allow-cn client --crl crl.pem --workers 2
c="pki/ca/ca.crt pki/client.crt pki/client.key"

# shellcheck disable=SC2086
python3 "$CLIENT" "$PORT" $c trickle 3145728 >"$T/long.out" 2>&1 &
LPID=$!
track $LPID
sleep 0.3
# Each SIGHUP after the previous reload is logged: signals sent faster than
# a slow (valgrind) serve reloads would merge into one.
for i in 1 2 3 4 5; do
	kill -HUP "$SPID"
	wait_log "reloaded the configuration (SIGHUP)" "$i"
done
wait $LPID || { cat "$T/long.out"; fail "the long transfer failed"; }
cat "$T/long.out"
wait_log "reloaded the configuration (SIGHUP)" 5
ok "a 3 MB transfer stays up through five SIGHUP reloads, SHA-256 intact"

# shellcheck disable=SC2086
run 0 python3 "$CLIENT" "$PORT" $c sha 1000
cp pki/server.crt server.crt.good
echo "not a certificate" >pki/server.crt
kill -HUP "$SPID"
wait_log "failed, keeping the previous configuration"
assert_contains "$T/serve.log" "server.crt"
# shellcheck disable=SC2086
run 0 python3 "$CLIENT" "$PORT" $c sha 1000
kill -0 "$SPID" || fail "mtls serve died on a broken certificate file"
ok "a broken certificate file on reload keeps the old configuration"
cp server.crt.good pki/server.crt
kill -HUP "$SPID"
wait_log "reloaded the configuration (SIGHUP)" 6

# A session to resume, then revocation (an echo backend, so that each
# s_client exchange ends cleanly and its session stays resumable).
kill "$SPID"; wait "$SPID" 2>/dev/null
kill "$BPID"; wait "$BPID" 2>/dev/null
start_backend echo
start_serve --allow-cn client --crl crl.pem --workers 2
# (a pause long enough for the TLS 1.3 ticket from a slow, valgrind, serve)
(printf 'x\n'; sleep 2) | timeout 10 openssl s_client -connect "127.0.0.1:$PORT" \
    -CAfile pki/ca/ca.crt -cert pki/client.crt -key pki/client.key \
    -sess_out sess.pem >"$T/s1.out" 2>&1
[ -s sess.pem ] || fail "no session to resume"
(printf 'x\n'; sleep 0.5) | timeout 10 openssl s_client -connect "127.0.0.1:$PORT" \
    -CAfile pki/ca/ca.crt -cert pki/client.crt -key pki/client.key \
    -sess_in sess.pem >"$T/s2.out" 2>&1
assert_contains "$T/s2.out" "Reused"
ok "sessions resume before the revocation"
run 0 "$MTLS" cert revoke --ca pki/ca --cert pki/client.crt
run 0 "$MTLS" ca crl --ca pki/ca --out crl.pem --force
kill -HUP "$SPID"
wait_log "reloaded the configuration (SIGHUP)" 7
sleep 0.5
: >"$T/backend.log"
(printf 'x\n'; sleep 0.5) | timeout 10 openssl s_client -connect "127.0.0.1:$PORT" \
    -CAfile pki/ca/ca.crt -cert pki/client.crt -key pki/client.key \
    -sess_in sess.pem >"$T/s3.out" 2>&1
assert_not_contains "$T/s3.out" "Reused"
assert_contains "$T/s3.out" "alert certificate revoked"
s_client pki/client
assert_contains "$T/sc.out" "alert certificate revoked"
backend_saw_nothing "revoked client after reload"
wait_log "revoked" 2
ok "after revoke + new CRL + reload, new handshakes and resumptions are refused"
