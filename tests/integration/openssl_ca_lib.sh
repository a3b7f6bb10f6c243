# openssl_ca_lib.sh - "openssl ca" as a second, independent CA for the
# integration tests: it can set any dates, and its CRLs are made by code
# that is not ours.  Source it after lib.sh.
#
# openssl_ca DIR CERT KEY [SECTIONS]: an empty "openssl ca" database in
# $T/DIR (serial 1000, CRL number 01) for the CA certificate $T/CERT and
# its key $T/KEY, and the configuration $T/ca.cnf to use with -config:
# SHA-256, any commonName, no extensions copied from requests,
# certificates for 10 days, CRLs for 7 days carrying the CA's key
# identifier.  SECTIONS (text) is appended to the configuration, for
# -extensions.
openssl_ca() {
	mkdir -p "$T/$1/new"
	: >"$T/$1/index.txt"
	echo 1000 >"$T/$1/serial"
	echo 01 >"$T/$1/crlnumber"
	cat >"$T/ca.cnf" <<CNF
[ca]
default_ca = d
[d]
dir = $T/$1
database = \$dir/index.txt
new_certs_dir = \$dir/new
serial = \$dir/serial
crlnumber = \$dir/crlnumber
certificate = $T/$2
private_key = $T/$3
default_md = sha256
default_days = 10
default_crl_days = 7
policy = p
unique_subject = no
copy_extensions = none
crl_extensions = crlext
[p]
commonName = supplied
[crlext]
authorityKeyIdentifier = keyid:always
CNF
	[ -z "${4:-}" ] || printf '%s\n' "$4" >>"$T/ca.cnf"
}
