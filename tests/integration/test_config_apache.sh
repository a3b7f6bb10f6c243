#!/bin/sh
# Apache httpd (mod_ssl, mod_headers, mod_proxy_http) run with exactly the
# virtual host "mtls config apache" made (a PKI whose clients an
# intermediate issues, a CRL for each CA): the valid client gets through
# with its identity, everyone else is refused, nobody can spoof the
# identity headers.
. "$MTLS_TOP/tests/integration/lib.sh"
. "$MTLS_TOP/tests/integration/apache_lib.sh"
. "$MTLS_TOP/tests/integration/config_servers_lib.sh"

apache_require
SERVER=apache
config_pki
config_backend
config_make apache
apache_conf "$T/httpd" "$T/snippet.conf"
run 0 "$APACHE" -t -f "$T/httpd/httpd.conf"
apache_start "$T/httpd"
wait_port "$port"
config_scenario
