#!/bin/sh
# make demo: the main job, shown end to end in a temp dir.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD="$top/$BUILD" ;; esac
mtls="$BUILD/mtls"
dir=$(mktemp -d "${TMPDIR:-/tmp}/mtls-demo.XXXXXX")
trap 'rm -rf "$dir"' EXIT
echo "\$ mtls init --dir $dir/pki"
"$mtls" init --dir "$dir/pki"
echo
echo "\$ ls -l $dir/pki $dir/pki/ca"
ls -l "$dir/pki" "$dir/pki/ca"
echo
echo "\$ mtls cert inspect $dir/pki/client.crt"
"$mtls" cert inspect "$dir/pki/client.crt"
