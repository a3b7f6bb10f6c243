#!/bin/sh
# Session resumption must never skip a check that a full handshake would
# make (nginx CVE-2025-23419, Apache CVE-2025-23048, Envoy CVE-2022-21654).
# For TLS 1.3 and 1.2, a session that resumes in the normal case (the
# control) does a full handshake, with a new certificate check, when it is
# offered
#   - under another SNI name;
#   - after a reload that changed the CA file;
#   - to an instance sharing the ticket keys but with other access rules
#     (and the client is then refused by those rules).
. "$MTLS_TOP/tests/integration/lib.sh"
. "$MTLS_TOP/tests/integration/serve_lib.sh"
. "$MTLS_TOP/tests/integration/scan_lib.sh"

make_pki
start_backend echo
cp pki/ca/ca.crt cas.pem
CA_FILE=cas.pem
head -c 80 /dev/urandom >tickets.key

# conn VERSION SNI IN OUT: one exchange; "New" or "Reused" on stdout.
conn() {
	sin="" sout=""
	[ "$3" = - ] || sin="-sess_in $3"
	[ "$4" = - ] || sout="-sess_out $4"
	# shellcheck disable=SC2086
	(printf 'ping\n'; sleep "$PAUSE") | timeout 20 openssl s_client \
	    -connect "127.0.0.1:$PORT" "-$1" -servername "$2" \
	    -CAfile pki/ca/ca.crt -cert pki/client.crt -key pki/client.key \
	    $sin $sout >"$T/sc.out" 2>&1
	sed -n 's/^\(New\|Reused\), TLS.*/\1/p' "$T/sc.out" | head -n 1
}
expect() { # what got label
	[ "$2" = "$1" ] || { cat "$T/sc.out"; tail -n 5 "$T/serve.log"; fail "$3: '$2', expected '$1'"; }
}
last_log() { tail -n 1 "$T/serve.log"; }

for v in tls1_3 tls1_2; do
	serve_with pki/server --allow-cn client --workers 1
	expect New "$(conn $v localhost - s.pem)" "$v first"
	expect Reused "$(conn $v localhost s.pem -)" "$v same SNI (control)"
	wait_log "resumed=yes"
	n=$(grep -c "outcome=" "$T/serve.log")
	expect New "$(conn $v other.example s.pem -)" "$v other SNI"
	wait_log "outcome=" $((n + 1))
	last_log | grep -q 'outcome=ok.*resumed=no' ||
	    { last_log; fail "$v other SNI: not a full, verified handshake"; }
	ok "$v: a session resumed under another SNI gets a full handshake"

	expect New "$(conn $v localhost - s.pem)" "$v new session"
	expect Reused "$(conn $v localhost s.pem -)" "$v before the reload (control)"
	n=$(grep -c "reloaded the configuration" "$T/serve.log")
	cat pki/ca/ca.crt other/ca.crt >cas.new && mv cas.new cas.pem
	wait_log "reloaded the configuration" $((n + 1))
	expect New "$(conn $v localhost s.pem -)" "$v after the CA reload"
	ok "$v: after a reload that changed the CA file, no resumption"
	kill "$SPID"; wait "$SPID" 2>/dev/null
	cp pki/ca/ca.crt cas.pem

	# Shared ticket keys: another instance with the same rules resumes
	# (control); one with other rules must not.
	serve_with pki/server --allow-cn client --ticket-key-file tickets.key
	expect New "$(conn $v localhost - t.pem)" "$v ticket"
	kill "$SPID"; wait "$SPID" 2>/dev/null
	serve_with pki/server --allow-cn client --ticket-key-file tickets.key
	expect Reused "$(conn $v localhost t.pem -)" "$v same rules, other instance (control)"
	kill "$SPID"; wait "$SPID" 2>/dev/null
	: >"$T/backend.log"
	serve_with pki/server --allow-cn someone-else --ticket-key-file tickets.key
	got=$(conn $v localhost t.pem -)
	[ "$got" != Reused ] || { cat "$T/sc.out"; fail "$v: resumed under other rules"; }
	wait_log "no rule allows"
	backend_saw_nothing "$v: a client the new rules refuse"
	ok "$v: a ticket from an instance with other rules is not resumed; the client is refused"
	kill "$SPID"; wait "$SPID" 2>/dev/null
done
