#!/bin/sh
# "make install PREFIX=..." installs the command, both libraries, the header,
# libmtls.pc and both man pages; a C program built with nothing but
# `pkg-config --cflags --libs libmtls` makes a CA, generates a key and issues
# a certificate through the public API, and openssl accepts the result.
. "$MTLS_TOP/tests/integration/lib.sh"

command -v pkg-config >/dev/null || skip "pkg-config is not installed"
command -v "${CC:-cc}" >/dev/null || skip "no C compiler"
cc=${CC:-cc}
prefix="$T/prefix"

# The build folder of this run is already built: install only copies it.
make -C "$MTLS_TOP" --no-print-directory install PREFIX="$prefix" \
    BUILD="$MTLS_BUILD" >install.log 2>&1 || { cat install.log; fail "make install failed"; }
for f in bin/mtls lib/libmtls.a lib/libmtls.so.0 lib/pkgconfig/libmtls.pc \
    include/mtls.h share/man/man1/mtls.1 share/man/man3/libmtls.3; do
	assert_file "$prefix/$f"
done
[ -L "$prefix/lib/libmtls.so" ] || fail "$prefix/lib/libmtls.so is not a symlink"
[ -x "$prefix/bin/mtls" ] || fail "$prefix/bin/mtls is not executable"
"$prefix/bin/mtls" --help >help.out 2>&1 || fail "the installed mtls does not run"
nm -g --defined-only "$prefix/lib/libmtls.a" >liba.sym
assert_contains liba.sym " T mtls_ca_issue"
nm -D --defined-only "$prefix/lib/libmtls.so.0" >libso.sym
assert_contains libso.sym " T mtls_ca_issue"
# The shared library exports the public API only (src/lib/libmtls.map).
if grep ' T ' libso.sym | grep -v ' T mtls_' >private.sym; then
	cat private.sym; fail "libmtls.so exports symbols outside mtls_*"
fi
ok "make install put the binary, libmtls.a/.so, mtls.h, libmtls.pc and the man pages in place"

export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
run 0 pkg-config --cflags --libs libmtls
assert_contains "$T/out" "-I$prefix/include"
assert_contains "$T/out" "-lmtls"
flags=$(cat "$T/out")
run 0 pkg-config --modversion libmtls
assert_contains "$T/out" "0.1.0"
ok "pkg-config finds libmtls in the prefix"

cat >issue.c <<'EOF'
/* A third-party program: a CA, a key and a server certificate, through
 * <mtls.h> alone. */
#include <stdio.h>
#include <string.h>

#include <mtls.h>

static int
die(const char *what, const char *why)
{
	fprintf(stderr, "issue: %s: %s\n", what, why);
	return 1;
}

int
main(int argc, char **argv)
{
	struct mtls_error err = { 0 };
	struct mtls_ca_options copt = { 0 };
	struct mtls_issue_options iopt = { 0 };
	const char *dns[] = { "app.example" };
	struct mtls_names names = { 0 };
	struct mtls_cert_info info;
	struct mtls_ca *ca;
	struct mtls_key *key;
	struct mtls_cert *cert;

	if (argc != 4)
		return die("usage", "issue CA-DIR CERT KEY");
	if (mtls_key_load_file("no-such.key", NULL, &err) != NULL ||
	    strstr(err.msg, "no-such.key") == NULL)
		return die("a missing key file", "not reported by name");
	copt.dir = argv[1];
	copt.name = "pkg-config test CA";
	copt.key_type = MTLS_KEY_EC_P256;
	if ((ca = mtls_ca_create(&copt, &err)) == NULL)
		return die(argv[1], err.msg);
	if ((key = mtls_key_generate(MTLS_KEY_EC_P256, &err)) == NULL)
		return die("key", err.msg);
	names.common_name = "app.example";
	names.dns = dns;
	names.ndns = 1;
	iopt.kind = MTLS_CERT_SERVER;
	if ((cert = mtls_ca_issue(ca, key, &names, &iopt)) == NULL)
		return die("issue", mtls_ca_error(ca));
	if (mtls_cert_write_file(cert, argv[2], 0, &err) == -1 ||
	    mtls_key_write_file(key, argv[3], NULL, 0, &err) == -1)
		return die("write", err.msg);
	if (mtls_cert_info(cert, 0, &info, &err) == -1)
		return die("info", err.msg);
	printf("issued %s serial %s by %s with %s\n", info.subject,
	    info.serial, info.issuer, mtls_version());
	mtls_cert_info_clear(&info);
	mtls_cert_free(cert);
	mtls_key_free(key);
	mtls_ca_free(ca);
	return 0;
}
EOF
# A library built with sanitizers (make sanitize) needs them in the
# program that links it too.
extra=""
if nm -D "$prefix/lib/libmtls.so.0" | grep -q '__asan_\|__ubsan_'; then
	extra="-fsanitize=address,undefined"
fi
# shellcheck disable=SC2086 # $flags is pkg-config's word list
"$cc" -std=c11 -Wall -Wextra -Werror $extra -o issue issue.c $flags \
    >cc.log 2>&1 || { cat cc.log; fail "issue.c does not build with pkg-config's flags"; }
ok "a C program compiles and links against the installed libmtls"

# Static linking: a prefix holding only libmtls.a, and pkg-config --static
# for the libraries it needs.
mkdir -p static/lib
cp "$prefix/lib/libmtls.a" static/lib/
sflags=$(pkg-config --define-variable=prefix="$T/static" --static --cflags \
    --libs libmtls) || fail "pkg-config --static failed"
# shellcheck disable=SC2086 # pkg-config's word list
"$cc" -std=c11 -Wall -Wextra -Werror $extra -I"$prefix/include" \
    -o issue-static issue.c $sflags >cc-static.log 2>&1 ||
    { cat cc-static.log; fail "issue.c does not link statically with pkg-config --static"; }
if ldd ./issue-static | grep -q libmtls; then
	fail "issue-static still loads libmtls.so"
fi
run 0 ./issue-static sca s.crt s.key
assert_contains "$T/out" "issued CN=app.example serial"
ok "it links statically against libmtls.a with pkg-config --static"

export LD_LIBRARY_PATH="$prefix/lib"
run 0 ./issue ca app.crt app.key
assert_contains "$T/out" "issued CN=app.example serial"
assert_contains "$T/out" "by CN=pkg-config test CA with 0.1.0"
ldd ./issue >ldd.out
assert_contains ldd.out "$prefix/lib/libmtls.so.0"
assert_mode app.key 600
assert_mode ca/ca.key 600
assert_file ca/ca.db
run 0 openssl verify -purpose sslserver -CAfile ca/ca.crt app.crt
assert_contains "$T/out" "app.crt: OK"
run 0 openssl x509 -in app.crt -noout -ext subjectAltName
assert_contains "$T/out" "DNS:app.example"
# The installed command reads the inventory the program wrote.
run 0 "$prefix/bin/mtls" cert list --ca ca
assert_contains "$T/out" "CN=app.example"
ok "the program made a CA and a server certificate that openssl verifies"
