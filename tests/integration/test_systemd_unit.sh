#!/bin/sh
# contrib/systemd/mtls-serve@.service: "make install" puts it in the
# prefix's systemd unit folder with ExecStart naming the installed mtls,
# and systemd-analyze verify accepts it without a word (an unknown
# directive or value is only a warning there, so any output fails).  Then
# the notify protocol the unit relies on: mtls serve --config sends
# READY=1 once it listens, RELOADING=1 then READY=1 on SIGHUP, STOPPING=1
# on SIGTERM, to $NOTIFY_SOCKET.
. "$MTLS_TOP/tests/integration/lib.sh"
. "$MTLS_TOP/tests/integration/serve_lib.sh"

command -v systemd-analyze >/dev/null || skip "systemd-analyze is not installed"
prefix="$T/prefix"
make -C "$MTLS_TOP" --no-print-directory install PREFIX="$prefix" \
    BUILD="$MTLS_BUILD" >install.log 2>&1 || { cat install.log; fail "make install failed"; }
unit="$prefix/lib/systemd/system/mtls-serve@.service"
assert_file "$unit"
assert_contains "$unit" "ExecStart=$prefix/bin/mtls serve --config /etc/mtls/%i.yaml"
for d in Type=notify "ExecReload=/bin/kill -HUP \$MAINPID" NoNewPrivileges=yes \
    ProtectSystem=strict ReadOnlyPaths=/etc/mtls PrivateTmp=yes \
    CapabilityBoundingSet=CAP_NET_BIND_SERVICE; do
	assert_contains "$unit" "$d"
done
systemd-analyze verify --man=no "$unit" >verify.out 2>&1 ||
    { cat verify.out; fail "systemd-analyze verify refuses the unit"; }
[ ! -s verify.out ] || { cat verify.out; fail "systemd-analyze verify has warnings"; }
ok "make install installs mtls-serve@.service; systemd-analyze verify accepts it silently"

# The notify protocol, with a datagram socket standing in for systemd.
make_pki
start_backend echo
P=$(free_port)
cat >mtls.yaml <<YAML
services:
  api:
    listen: 127.0.0.1:$P
    cert: pki/server.crt
    key: pki/server.key
    ca: pki/ca/ca.crt
    backend: 127.0.0.1:$BPORT
    allow: { cn: client }
YAML
python3 - "$T/notify.sock" "$T/notify.log" <<'PY' &
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a") as log:
    while True:
        m = s.recv(4096).decode()
        log.write(m.replace("\n", " ") + "\n")
        log.flush()
        if "STOPPING=1" in m:
            break
PY
NPID=$!
track $NPID
i=0; while [ ! -S "$T/notify.sock" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
NOTIFY_SOCKET="$T/notify.sock" mtls_cmd serve --config mtls.yaml 2>>"$T/serve.log" &
SPID=$!
track $SPID
wait_port "$P"
wait_file_log "$T/notify.log" "READY=1"
kill -HUP "$SPID"
wait_file_log "$T/notify.log" "RELOADING=1 MONOTONIC_USEC="
wait_file_log "$T/notify.log" "READY=1" 2
kill -TERM "$SPID"
wait_file_log "$T/notify.log" "STOPPING=1"
wait "$SPID" || fail "serve did not exit 0 after SIGTERM"
ok "sd_notify: READY=1 when listening, RELOADING=1/READY=1 around a reload, STOPPING=1 on SIGTERM"
