#!/bin/sh
# guest.sh - the /init of the virtual machine tests/ktls/run.sh boots: it
# checks `mtls serve --ktls` under a kernel that has kTLS (Debian 12's
# 6.1), with the sandbox on, against openssl s_client, and powers off.
# Every check prints "PASS: ..." or "FAIL: ..."; the last line says
# "KTLS-CHECK: PASS" or "KTLS-CHECK: FAIL".
export PATH=/bin:/sbin:/usr/bin:/usr/local/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs tmp /tmp
ip link set lo up
BYTES=4194304
for a in $(cat /proc/cmdline); do
	case $a in ktls.bytes=*) BYTES=${a#*=} ;; esac
done
echo "guest: kernel $(uname -r), $(nproc) vCPU, $BYTES bytes per transfer"
# What udev would load for this CPU, then the ULP itself.
for m in aesni_intel ghash_clmulni_intel chacha_x86_64 poly1305_x86_64 tls; do
	modprobe $m || echo "modprobe $m failed"
done
cd /tmp || exit 1
FAIL=0
pass() { echo "PASS: $*"; }
bad() { echo "FAIL: $*"; FAIL=1; }
stat_of() { awk -v k="$1" '$1 == k { print $2 }' /proc/net/tls_stat; }
# Waits until 127.0.0.1:PORT listens (hex in /proc/net/tcp).
wait_listen() {
	hex=$(printf '%04X' "$1")
	i=0
	while [ $i -lt 600 ]; do
		grep -q ":$hex 00000000:0000 0A" /proc/net/tcp && return 0
		sleep 0.1
		i=$((i + 1))
	done
	bad "nothing listens on port $1"
	return 1
}
# Waits until serve.log has more than N connection lines; prints the last.
wait_conn_line() {
	i=0
	while [ $i -lt 600 ]; do
		if [ "$(grep -c ' outcome=' serve.log)" -gt "$1" ]; then
			grep ' outcome=' serve.log | tail -n 1
			return 0
		fi
		sleep 0.1
		i=$((i + 1))
	done
	echo "(no connection line)"
}
conns() { grep -c ' outcome=' serve.log; }
backend() {
	[ -n "${BK:-}" ] && kill "$BK" 2>/dev/null && wait "$BK" 2>/dev/null
	backend_ktls "$@" &
	BK=$!
	wait_listen 9000
}
s_client() {
	timeout 600 openssl s_client -connect 127.0.0.1:8443 \
	    -servername localhost -CAfile pki/ca/ca.crt \
	    -cert pki/client.crt -key pki/client.key "$@"
}

mtls init --dir pki >init.log 2>&1 || { cat init.log; bad "mtls init"; }
head -c "$BYTES" /dev/urandom >data.bin
want=$(sha256sum <data.bin | cut -d' ' -f1)
: >serve.log
mtls serve --listen 127.0.0.1:8443 --cert pki/server.crt \
    --key pki/server.key --ca pki/ca/ca.crt --backend 127.0.0.1:9000 \
    --allow-cn client --ktls --workers 1 --metrics 127.0.0.1:9100 \
    2>>serve.log &
SPID=$!
wait_listen 8443
i=0
while ! grep -q 'listening on' serve.log && [ $i -lt 300 ]; do
	sleep 0.1; i=$((i + 1))
done
grep -q 'seccomp filter' serve.log && pass "serve runs with its seccomp sandbox" ||
    bad "serve has no seccomp sandbox: $(cat serve.log)"

# download VERSION-FLAGS...: backend -> client, spliced when the kernel
# encrypts.
download() {
	what=$1; want_ktls=$2; shift 2
	backend source 9000 /tmp/data.bin
	n=$(conns); tx=$(stat_of TlsTxSw); rx=$(stat_of TlsRxSw)
	t0=$(cut -d' ' -f1 /proc/uptime)
	s_client -quiet -ign_eof "$@" </dev/null >got.bin 2>sc.err
	t1=$(cut -d' ' -f1 /proc/uptime)
	line=$(wait_conn_line "$n")
	echo "  $line"
	echo "  $(wc -c <got.bin) bytes in $(awk "BEGIN{print $t1 - $t0}") s (emulated); TlsTxSw $tx -> $(stat_of TlsTxSw), TlsRxSw $rx -> $(stat_of TlsRxSw)"
	[ "$(sha256sum <got.bin | cut -d' ' -f1)" = "$want" ] &&
	    pass "$what download: $BYTES bytes byte-exact" ||
	    { cat sc.err; bad "$what download: the bytes differ"; }
	case $line in *"ktls=$want_ktls "*"out=$BYTES "*) pass "$what download: the log says ktls=$want_ktls, out=$BYTES" ;;
	*) bad "$what download: log line without ktls=$want_ktls / out=$BYTES" ;; esac
	[ "$(stat_of TlsTxSw)" -gt "$tx" ] && pass "$what download: TlsTxSw rose" ||
	    bad "$what download: TlsTxSw did not rise"
	if [ "$want_ktls" = txrx ]; then
		[ "$(stat_of TlsRxSw)" -gt "$rx" ] && pass "$what download: TlsRxSw rose" ||
		    bad "$what download: TlsRxSw did not rise"
	fi
}

# upload: client -> backend (SSL_read, through kTLS receive on TLS 1.2).
upload() {
	what=$1; want_ktls=$2; shift 2
	backend sink 9000 /tmp/sunk.bin
	n=$(conns)
	s_client -quiet -no_ign_eof -nocommands "$@" <data.bin >/dev/null 2>sc.err
	line=$(wait_conn_line "$n")
	echo "  $line"
	i=0
	while [ "$(cat sunk.bin 2>/dev/null | wc -c)" -lt "$BYTES" ] && [ $i -lt 100 ]; do
		sleep 0.1; i=$((i + 1))
	done
	[ "$(sha256sum <sunk.bin | cut -d' ' -f1)" = "$want" ] &&
	    pass "$what upload: $BYTES bytes byte-exact" ||
	    { cat sc.err; bad "$what upload: the bytes differ"; }
	case $line in *"ktls=$want_ktls "*"in=$BYTES "*) pass "$what upload: the log says ktls=$want_ktls, in=$BYTES" ;;
	*) bad "$what upload: log line without ktls=$want_ktls / in=$BYTES" ;; esac
}

echo "---- TLS 1.3, AES-128-GCM"
download "TLS 1.3" tx -tls1_3
upload "TLS 1.3" tx -tls1_3
echo "---- TLS 1.3, ChaCha20-Poly1305"
download "TLS 1.3 ChaCha20" tx -tls1_3 -ciphersuites TLS_CHACHA20_POLY1305_SHA256
echo "---- TLS 1.2, ECDHE-ECDSA-AES128-GCM"
download "TLS 1.2" txrx -tls1_2
upload "TLS 1.2" txrx -tls1_2

echo "---- TLS 1.3 KeyUpdate asked of the server"
backend echo 9000
n=$(conns)
(printf 'hello\n'; sleep 8; printf 'K\n'; sleep 8) |
    s_client -tls1_3 >ku.out 2>&1
line=$(wait_conn_line "$n")
echo "  $line"
grep -q '^hello' ku.out && pass "KeyUpdate: the echo came back before it" ||
    bad "KeyUpdate: no echo before the KeyUpdate"
case $line in *outcome=client_error*"key update"*) pass "KeyUpdate: a clean, logged connection error" ;;
*) bad "KeyUpdate: not ended as a logged client_error" ;; esac
kill -0 $SPID 2>/dev/null && pass "serve is still running" || bad "serve died"

echo "---- metrics"
wget -q -O - http://127.0.0.1:9100/metrics >metrics.txt
grep ktls metrics.txt
k=$(awk '/^mtls_serve_ktls_send_connections_total/ { print $2 }' metrics.txt)
[ "${k:-0}" -ge 6 ] && pass "metrics: $k connections with kTLS send" ||
    bad "metrics: ${k:-no} kTLS send connections, want 6"

kill $SPID; wait $SPID
echo "---- serve.log"
cat serve.log
echo "---- /proc/net/tls_stat"
cat /proc/net/tls_stat
echo "KTLS-CHECK: $([ $FAIL = 0 ] && echo PASS || echo FAIL)"
poweroff -f
