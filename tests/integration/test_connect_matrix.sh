#!/bin/sh
# "mtls connect" against three servers nobody here wrote -- nginx
# (ssl_verify_client on, ssl_verify_depth 3), openssl s_server (-Verify 1
# -verify_return_error) and gnutls-serv (--require-client-cert) -- for TLS
# 1.2 (--tls-max 1.2) and TLS 1.3 (--tls-min 1.3), table-driven:
#   client side: a valid client certificate issued by an intermediate CA
#   (the servers trust only the root) is accepted; no certificate, one from
#   a CA the server does not trust, and an expired one are refused, and
#   connect names the server's alert (and the CertificateRequest/alert in
#   --trace) and exits 1;
#   server side: a server certificate for another name, from another CA,
#   or expired is refused by connect with the reason, exit 1.
# nginx completes the handshake whatever the client sends and refuses in
# HTTP, so it sends no alert: its row expects the "we sent none" words for
# a missing certificate; its untrusted/expired client rows are left to
# test_connect_nginx_badcert.sh (a known gap, see there).
. "$MTLS_TOP/tests/integration/lib.sh"
. "$MTLS_TOP/tests/integration/nginx_lib.sh"

command -v gnutls-serv >/dev/null 2>&1 || skip "gnutls-serv is not installed"
command -v faketime >/dev/null 2>&1 || skip "faketime is not installed"
nginx_require

# root -> intermediate -> client; the servers trust root only, so the
# client must send its intermediate (cli.crt holds leaf + intermediate).
run 0 "$MTLS" ca init --dir root
run 0 "$MTLS" ca init --dir inter --parent root
run 0 "$MTLS" cert issue --ca root --server --name localhost --ip 127.0.0.1 --out srv
run 0 "$MTLS" cert issue --ca inter --client --name client --out cli
run 0 "$MTLS" init --dir other
# Expired ones: issued ten days ago for one day.  (faketime preloads into
# mtls; an ASan build cannot run under it, so openssl signs instead.)
issue_old() { # ROLE NAME CA OUT
	faketime -f '-10d' "$MTLS" cert issue --ca "$3" --"$1" --name "$2" \
	    --ip 127.0.0.1 --days 1 --out "$4" >/dev/null 2>&1 && return 0
	eku=clientAuth; [ "$1" = server ] && eku=serverAuth
	printf '%s\n' 'basicConstraints=critical,CA:FALSE' \
	    'keyUsage=critical,digitalSignature' "extendedKeyUsage=$eku" \
	    "subjectAltName=DNS:$2,IP:127.0.0.1" >"$4.ext"
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -keyout "$4.key" -subj "/CN=$2" -out "$4.csr" 2>/dev/null &&
	faketime -f '-10d' openssl x509 -req -in "$4.csr" -CA "$3/ca.crt" \
	    -CAkey "$3/ca.key" -CAcreateserial -days 1 -extfile "$4.ext" \
	    -out "$4.crt" 2>/dev/null || return 1
	[ "$3" = inter ] && cat inter/ca.crt >>"$4.crt"
	return 0
}
issue_old client old inter old || fail "cannot make an expired client certificate"
issue_old server localhost root srvold || fail "cannot make an expired server certificate"
openssl x509 -in old.crt -noout -checkend 0 >/dev/null && fail "old.crt is not expired"

# start KIND SERVER-PREFIX: one server of KIND with that certificate,
# trusting root/ca.crt for clients; prints its port.
start() {
	case $1 in
	nginx)
		mkdir -p "$T/$1-$2/pki"
		cp "$2.crt" "$T/$1-$2/pki/server.crt"
		cp "$2.key" "$T/$1-$2/pki/server.key"
		cp root/ca.crt "$T/$1-$2/ca.crt"
		T0=$T; T=$T/$1-$2
		nginx_start ngx ca.crt
		T=$T0
		;;
	s_server)
		port=$(free_port)
		openssl s_server -accept "127.0.0.1:$port" -quiet -cert "$2.crt" \
		    -key "$2.key" -CAfile root/ca.crt -Verify 1 \
		    -verify_return_error </dev/null >"s_server-$2.log" 2>&1 &
		track $!
		wait_port "$port"
		;;
	gnutls)
		port=$(free_port)
		gnutls-serv --port "$port" --x509certfile "$2.crt" \
		    --x509keyfile "$2.key" --x509cafile root/ca.crt \
		    --require-client-cert --verify-client-cert --echo \
		    </dev/null >"gnutls-$2.log" 2>&1 &
		track $!
		wait_port "$port"
		;;
	esac
}

conn() { # PORT VERSION-OPTION ARGS...: connect with the root as the server CA
	p=$1; v=$2; shift 2
	# shellcheck disable=SC2086
	"$MTLS" connect "localhost:$p" $v "$@"
}

good="--cert cli.crt --key cli.key"
for kind in nginx s_server gnutls; do
	start "$kind" srv; port_good=$port
	start "$kind" srvold; port_old=$port
	for v in "--tls-max 1.2" "--tls-min 1.3"; do
		ver=TLSv1.3; [ "$v" = "--tls-max 1.2" ] && ver=TLSv1.2
		cell="$kind $ver"

		# shellcheck disable=SC2086
		run 0 conn "$port_good" "$v" --ca root/ca.crt $good
		assert_contains "$T/out" "TLS: handshake complete: $ver"
		assert_contains "$T/out" "Server certificate: verified (chain to root/ca.crt, name localhost matches)"
		assert_contains "$T/out" "the server asked for one, from this CA:"
		assert_contains "$T/out" "ours was sent (cli.crt: CN=client, issued by CN=mtls Intermediate CA"
		assert_contains "$T/out" "the server accepted it"
		assert_contains "$T/out" "Result: mutual TLS OK"
		ok "$cell: a client certificate from an intermediate CA is accepted"

		# Client-side refusals: case, client certificate prefix (or none),
		# the server's alert in TLS 1.2 and in TLS 1.3.
		# '-' means the server sends no alert (nginx refuses in HTTP).
		while read -r case prefix alert12 alert13; do
			[ "$case" = "" ] && continue
			alert=$alert13; [ "$ver" = TLSv1.2 ] && alert=$alert12
			[ "$alert" = skip ] && continue
			opts=""
			[ "$prefix" = none ] || opts="--cert $prefix.crt --key $prefix.key"
			# shellcheck disable=SC2086
			run 1 conn "$port_good" "$v" --ca root/ca.crt $opts --trace
			assert_contains "$T/out" "Result: mutual TLS FAILED"
			assert_contains "$T/out" "<- CertificateRequest: the server asks for a client certificate; CA names: CN=mtls Root CA"
			case $case in
			nocert)
				assert_contains "$T/out" "-> Certificate: empty (no certificate)"
				assert_contains "$T/out" "we sent none (give --cert and --key)" ;;
			otherca)
				assert_contains "$T/out" "ours was sent (other/client.crt: CN=client, issued by CN=mtls Root CA" ;;
			expired)
				assert_contains "$T/out" "ours was sent (old.crt: CN=old, issued by CN=mtls Intermediate CA, EXPIRED" ;;
			esac
			if [ "$alert" = - ]; then
				assert_one_line_error "localhost:$port_good: the server asked for a client certificate and we sent none"
			else
				assert_contains "$T/out" "<- Alert from the server: fatal $alert"
				if [ "$case" = nocert ]; then
					assert_contains "$T/out" "the server rejected the connection: $alert alert"
				else
					assert_contains "$T/out" "the server rejected our certificate: $alert alert"
					# The alert's meaning, in words.
					case $alert in
					unknown_ca) assert_contains "$T/out" "meaning: the server does not trust the CA that issued your certificate" ;;
					certificate_expired) assert_contains "$T/out" "meaning: your certificate expired" ;;
					access_denied) assert_contains "$T/out" "meaning: the server refused access" ;;
					esac
				fi
				assert_contains "$T/err" "$alert alert"
				assert_one_line_error "localhost:$port_good: the server re"
			fi
			ok "$cell: $case refused by the server (alert: $alert), exit 1"
		done <<EOF
$(case $kind in
nginx) cat <<'T'
nocert none - -
T
;;
s_server) cat <<'T'
nocert none handshake_failure certificate_required
otherca other/client unknown_ca unknown_ca
expired old certificate_expired certificate_expired
T
;;
gnutls) cat <<'T'
nocert none decode_error certificate_required
otherca other/client access_denied access_denied
expired old access_denied access_denied
T
;;
esac)
EOF

		# Server-side refusals, by the client, with the reason.
		# shellcheck disable=SC2086
		run 1 "$MTLS" connect "127.0.0.1:$port_good" $v --ca root/ca.crt \
		    --servername wrong.example.com $good
		assert_contains "$T/out" "Server certificate: NOT accepted: server certificate does not match the name wrong.example.com (it holds CN=localhost"
		assert_one_line_error "127.0.0.1:$port_good: server certificate does not match the name wrong.example.com"
		assert_contains "$T/err" "alert sent: bad_certificate"
		assert_contains "$T/out" "Result: mutual TLS FAILED"
		ok "$cell: a server certificate for another name is refused"

		# shellcheck disable=SC2086
		run 1 conn "$port_good" "$v" --ca other/ca/ca.crt $good
		assert_contains "$T/out" "Server certificate: NOT accepted: unknown CA: issuer CN=mtls Root CA is not trusted"
		assert_one_line_error "localhost:$port_good: server certificate not accepted: unknown CA"
		assert_contains "$T/err" "alert sent: unknown_ca"
		ok "$cell: a server certificate from another CA is refused"

		# shellcheck disable=SC2086
		run 1 conn "$port_old" "$v" --ca root/ca.crt $good
		assert_contains "$T/out" "Server certificate: NOT accepted: server certificate expired (CN=localhost, notAfter"
		assert_one_line_error "localhost:$port_old: server certificate expired (CN=localhost"
		assert_contains "$T/err" "alert sent: certificate_expired"
		ok "$cell: an expired server certificate is refused"
	done
done
