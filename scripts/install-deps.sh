#!/bin/sh
# Installs the Debian packages mtls needs to build and test, and says which.
# Usage: scripts/install-deps.sh [build|test|all]   (default: all)
set -eu

build_pkgs="build-essential pkg-config libssl-dev libsqlite3-dev libev-dev libcmocka-dev node-llhttp libpq-dev libyaml-dev libseccomp-dev libidn2-dev libsystemd-dev"
test_pkgs="openssl curl python3 python3-requests gnutls-bin socat faketime nginx-light libnginx-mod-stream linux-perf haproxy sqlite3 netcat-openbsd procps clang libclang-rt-dev valgrind testssl.sh sslscan postgresql apache2 chromium python3-cryptography systemd"

case "${1:-all}" in
build) want="$build_pkgs" ;;
test) want="$test_pkgs" ;;
all) want="$build_pkgs $test_pkgs" ;;
*) echo "usage: $0 [build|test|all]" >&2; exit 2 ;;
esac

missing=""
for p in $want; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
		missing="$missing $p"
	fi
done

if [ -z "$missing" ]; then
	exit 0
fi

echo "install-deps: installing missing Debian packages:$missing" >&2
if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: not root; run as root: apt-get install$missing" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2
# nginx and haproxy are used as test peers run by hand; keep their services off.
apt-get install -y -qq --no-install-recommends $missing >&2
echo "install-deps: done" >&2
