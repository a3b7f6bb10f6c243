# s_server_lib.sh - openssl s_server as a real TLS server for the
# integration tests.  Source it after lib.sh.
#
# s_server PORT ARGS...: openssl s_server on 127.0.0.1:PORT with ARGS,
# quiet, its standard input closed and its output in $T/s_server.PORT.log;
# returns once the port accepts.  The process is tracked, so it is stopped
# with the test.
#
# s_server_mtls PORT [ARGS...]: the same with $T/pki/server.crt and
# server.key, requiring a client certificate from $T/pki/ca/ca.crt
# (-Verify 1 -verify_return_error).

s_server() {
	s_server_port=$1
	shift
	openssl s_server -accept "127.0.0.1:$s_server_port" -quiet "$@" \
	    </dev/null >"$T/s_server.$s_server_port.log" 2>&1 &
	track $!
	wait_port "$s_server_port"
}

s_server_mtls() {
	s_server_port=$1
	shift
	s_server "$s_server_port" -cert "$T/pki/server.crt" \
	    -key "$T/pki/server.key" -CAfile "$T/pki/ca/ca.crt" -Verify 1 \
	    -verify_return_error "$@"
}
