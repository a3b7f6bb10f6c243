#!/bin/sh
# make demo: the main job, shown end to end.  "mtls demo" makes a PKI in a
# temp dir, starts mtls serve in front of a small backend, runs an allowed
# client, a client without a certificate and one from another CA, says what
# happened to each, and removes everything it made.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD="$top/$BUILD" ;; esac
exec "$BUILD/mtls" demo
