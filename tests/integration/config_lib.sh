# config_lib.sh - sourced by the test_serve_config*.sh scripts after
# serve_lib.sh: backends of their own and "mtls serve --config".

# backend_on MODE LOG: the test backend on a free port logging to LOG;
# prints the port, and the PID is tracked.
backend_on() {
	p=$(free_port)
	: >"$2"
	python3 "$BACKEND_PY" "$1" "$p" "$2" >/dev/null 2>&1 &
	track $!
	wait_port "$p"
	sleep 0.1
	: >"$2"
	echo "$p"
}

# start_config FILE [ARGS...]: mtls serve --config FILE, stderr appended to
# $T/serve.log; sets SPID.  The caller waits for its ports.
start_config() {
	f=$1; shift
	mtls_cmd serve --config "$f" "$@" 2>>"$T/serve.log" &
	SPID=$!
	track $SPID
}

# client_to PORT PFX: sends "ping" with PFX.crt/.key to PORT and waits
# (up to 30 s: valgrind is slow) for the backend's echo; 0 when it came
# back, 1 when the proxy refused or closed.  What happened is in $T/sc.out.
client_to() {
	python3 - "$1" "$2" >"$T/sc.out" 2>&1 <<'PY'
import socket, ssl, sys
port, pfx = int(sys.argv[1]), sys.argv[2]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.load_verify_locations("pki/ca/ca.crt")
ctx.load_cert_chain(pfx + ".crt", pfx + ".key")
try:
    s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=30),
                        server_hostname="localhost")
    s.sendall(b"ping\n")
    got = s.recv(64)
except (OSError, ssl.SSLError) as e:
    print("refused:", e)
    sys.exit(1)
print("got:", got)
sys.exit(0 if got == b"ping\n" else 1)
PY
}

# serves_across_sighup PORT LOGTEXT WHAT: a client gets its echo from PORT,
# SIGHUP to $SPID, the log says LOGTEXT, and a client gets its echo again;
# WHAT names the proxy in the failures.
serves_across_sighup() {
	client_to "$1" pki/client || { cat "$T/sc.out"; fail "$3 does not serve"; }
	kill -HUP "$SPID"
	wait_log "$2"
	client_to "$1" pki/client || { cat "$T/sc.out"; fail "$3 does not serve after a reload"; }
}

# service_conf PORT DIR [LINES]: a configuration file of one service, api,
# on 127.0.0.1:PORT with DIR/server.crt and its key, clients of pki/ca
# with CN client, in front of the backend on $BPORT; LINES (keys indented
# by four spaces) are added to the service.
service_conf() {
	cat <<YAML
services:
  api:
    listen: 127.0.0.1:$1
    cert: $2/server.crt
    key: $2/server.key
    ca: $T/pki/ca/ca.crt
    backend: 127.0.0.1:$BPORT
    allow: { cn: client }
${3:-}
YAML
}
