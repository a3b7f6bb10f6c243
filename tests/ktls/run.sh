#!/bin/bash
# tests/ktls/run.sh - `mtls serve --ktls` where kernel TLS really works.
#
# The machines the suite runs on have no tls ULP, so `make test` only sees
# the user-space fallback (tests/integration/test_serve_ktls.sh).  This
# script boots Debian 12's own kernel (6.1, which has kTLS) in QEMU, from an
# initramfs that holds busybox, build/mtls, openssl, a small backend
# (backend.c) and the shared libraries they use, and runs guest.sh in it:
# serve with its sandbox on, openssl s_client with TLS 1.3 and 1.2 pulling
# and pushing a few MiB, every byte compared, the log line's ktls field,
# /proc/net/tls_stat, a TLS 1.3 KeyUpdate, the metric.  Not part of `make
# test`: the kernel package is a 70 MB download, and without KVM (these
# machines) the guest runs in software emulation, so its speed says nothing
# about hardware; only correctness is checked.
#
#   make ktls-check            or   BUILD=build tests/ktls/run.sh
#
# env: WORK (kernel, initramfs, console log; kept between runs, default
# $TMPDIR/mtls-ktls), BYTES per transfer (default 4 MiB), ACCEL=auto|kvm|tcg,
# TIMEOUT seconds for the guest (default 1800).
# Exit status 0 when the guest ran and every check passed.
set -euo pipefail
TOP=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$TOP/$BUILD ;; esac
WORK=${WORK:-${TMPDIR:-/tmp}/mtls-ktls}
BYTES=${BYTES:-4194304}
TIMEOUT=${TIMEOUT:-1800}
say() { printf '== %s\n' "$*" >&2; }

[ -x "$BUILD/mtls" ] || { echo "$BUILD/mtls: not built (make build)" >&2; exit 1; }
mkdir -p "$WORK"

# Packages: the emulator, a static busybox for the guest's userland, cpio
# and depmod for the initramfs.
missing=()
for p in qemu-system-x86 busybox-static cpio kmod openssl gcc; do
	dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]})); then
	say "installing ${missing[*]}"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    --no-install-recommends "${missing[@]}"
fi

# Debian's kernel: the package linux-image-amd64 points to, unpacked (never
# installed); only the image and the modules kTLS needs are kept.
kpkg() {
	apt-cache depends linux-image-amd64 2>/dev/null |
	    awk '/Depends: linux-image-[0-9]/ { print $2; exit }'
}
KPKG=$(kpkg)
[ -n "$KPKG" ] || { apt-get update -qq; KPKG=$(kpkg); }
[ -n "$KPKG" ] || { echo "no linux-image package known to apt" >&2; exit 1; }
KVER=${KPKG#linux-image-}
KDIR=$WORK/kernel-$KVER
if [ ! -f "$KDIR/boot/vmlinuz-$KVER" ]; then
	say "downloading $KPKG"
	rm -rf "$WORK/dl" "$KDIR" "$KDIR.tmp"
	mkdir -p "$WORK/dl"
	chmod 777 "$WORK/dl" # apt's download user writes there
	(cd "$WORK/dl" && apt-get download -qq "$KPKG")
	dpkg-deb -x "$WORK/dl/${KPKG}"_*.deb "$KDIR.tmp"
	rm -rf "$WORK/dl"
	M=lib/modules/$KVER
	mkdir -p "$KDIR/boot" "$KDIR/$M/kernel/net" "$KDIR/$M/kernel/arch/x86" \
	    "$KDIR/$M/kernel/lib"
	mv "$KDIR.tmp/boot/vmlinuz-$KVER" "$KDIR/boot/"
	mv "$KDIR.tmp/$M/kernel/net/tls" "$KDIR/$M/kernel/net/"
	mv "$KDIR.tmp/$M/kernel/crypto" "$KDIR/$M/kernel/"
	mv "$KDIR.tmp/$M/kernel/arch/x86/crypto" "$KDIR/$M/kernel/arch/x86/"
	mv "$KDIR.tmp/$M/kernel/lib/crypto" "$KDIR/$M/kernel/lib/"
	cp "$KDIR.tmp/$M"/modules.order "$KDIR.tmp/$M"/modules.builtin* \
	    "$KDIR/$M/"
	rm -rf "$KDIR.tmp"
fi

# The initramfs.
R=$WORK/root
rm -rf "$R"
mkdir -p "$R"/{bin,sbin,proc,sys,dev,tmp,etc} "$R/lib/modules" \
    "$R/usr/bin" "$R/usr/local/bin"
cp /bin/busybox "$R/bin/"
for a in $(/bin/busybox --list); do
	[ -e "$R/bin/$a" ] || ln -s busybox "$R/bin/$a"
done
# The kernel's module autoloader (request_module) runs /sbin/modprobe.
ln -s /bin/busybox "$R/sbin/modprobe"
cp -a "$KDIR/lib/modules/$KVER" "$R/lib/modules/"
depmod -b "$R" "$KVER"
with_libs() { # a program and the libraries (and loader) it needs
	cp "$1" "$R/usr/local/bin/$2"
	ldd "$1" | awk '/=>/ { print $3 } /^[[:space:]]*\// { print $1 }' |
	    while read -r l; do
		[ -e "$R$l" ] && continue
		mkdir -p "$R$(dirname "$l")"
		cp -L "$l" "$R$l"
	    done
}
gcc -O2 -Wall -Werror -o "$WORK/backend" "$TOP/tests/ktls/backend.c"
with_libs "$BUILD/mtls" mtls
with_libs "$(command -v openssl)" openssl
with_libs "$WORK/backend" backend_ktls
printf 'root:x:0:0:root:/tmp:/bin/sh\n' >"$R/etc/passwd"
cp "$TOP/tests/ktls/guest.sh" "$R/init"
chmod 755 "$R/init"
(cd "$R" && find . | cpio -o -H newc --quiet) >"$WORK/initrd.cpio"
say "initramfs $(du -h "$WORK/initrd.cpio" | cut -f1), kernel $KVER"

ACCEL=${ACCEL:-auto}
if [ "$ACCEL" = auto ]; then
	if grep -qwE 'vmx|svm' /proc/cpuinfo && [ -w /dev/kvm ]; then
		ACCEL=kvm
	else
		ACCEL=tcg
	fi
fi
if [ "$ACCEL" = kvm ]; then
	QACCEL=(-enable-kvm -cpu host)
else
	# -cpu max: the guest sees AES-NI and PCLMUL, as on real hardware.
	QACCEL=(-accel tcg,thread=multi -cpu max)
fi
say "booting ($ACCEL; console in $WORK/console.log)"
set +e
timeout "$TIMEOUT" qemu-system-x86_64 "${QACCEL[@]}" -m 1G -smp 2 \
    -nographic -no-reboot -nic none -kernel "$KDIR/boot/vmlinuz-$KVER" \
    -initrd "$WORK/initrd.cpio" \
    -append "console=ttyS0 quiet panic=-1 ktls.bytes=$BYTES" </dev/null 2>&1 |
    sed -u 's/\r$//' | tee "$WORK/console.log"
set -e
grep -q '^KTLS-CHECK: PASS' "$WORK/console.log"
