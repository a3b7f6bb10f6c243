/*
 * test_pki_crl.c - revocation and the CRL: serial forms, refusals, the
 * inventory's statuses, CRL number, entries with reasons, AKI, nextUpdate
 * and signature; the reason names.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <ctype.h>

#include <openssl/pem.h>

#include "pki_test.h"
#include "tools/mtls_tools.h"

static struct mtls_cert *
issue(struct mtls_ca *ca, struct mtls_key *key, const char *cn, long offset)
{
	struct mtls_issue_options io = { 0 };
	struct mtls_names n = { 0 };
	struct mtls_cert *c;

	io.kind = MTLS_CERT_CLIENT;
	io.days = offset < 0 ? 1 : 0;
	n.common_name = cn;
	assert_int_equal(mtls_ca_set_clock_offset(ca, offset), 0);
	c = mtls_ca_issue(ca, key, &n, &io);
	assert_int_equal(mtls_ca_set_clock_offset(ca, 0), 0);
	if (c == NULL)
		fail_msg("%s", mtls_ca_error(ca));
	return c;
}

static char *
serial_of(const struct mtls_cert *c)
{
	return x509_serial_hex(X509_get0_serialNumber(cert_x509(c, 0)));
}

static X509_CRL *
read_crl(const char *path)
{
	BIO *bio = BIO_new_file(path, "r");
	X509_CRL *crl;

	assert_non_null(bio);
	crl = PEM_read_bio_X509_CRL(bio, NULL, NULL, NULL);
	BIO_free(bio);
	assert_non_null(crl);
	return crl;
}

static long
crl_number(X509_CRL *crl)
{
	ASN1_INTEGER *n = X509_CRL_get_ext_d2i(crl, NID_crl_number, NULL,
	    NULL);
	long v;

	assert_non_null(n);
	v = ASN1_INTEGER_get(n);
	ASN1_INTEGER_free(n);
	return v;
}

/* The reason of the entry for serial in crl; -1 when absent, -2 when the
 * serial is not listed. */
static int
crl_reason(X509_CRL *crl, const struct mtls_cert *c)
{
	X509_REVOKED *rev = NULL;
	ASN1_ENUMERATED *r;
	int v, crit = 0;

	if (X509_CRL_get0_by_serial(crl, &rev,
	    X509_get0_serialNumber(cert_x509(c, 0))) != 1)
		return -2;
	r = X509_REVOKED_get_ext_d2i(rev, NID_crl_reason, &crit, NULL);
	if (r == NULL)
		return -1;
	assert_int_equal(crit, 0);
	v = (int)ASN1_ENUMERATED_get(r);
	ASN1_ENUMERATED_free(r);
	return v;
}

static void
test_reason_names(void **state)
{
	enum mtls_revoke_reason r;

	(void)state;
	assert_int_equal(mtls_revoke_reason_parse("keyCompromise", &r), 0);
	assert_int_equal(r, MTLS_REVOKE_KEY_COMPROMISE);
	assert_int_equal(mtls_revoke_reason_parse("key-compromise", &r), 0);
	assert_int_equal(r, MTLS_REVOKE_KEY_COMPROMISE);
	assert_int_equal(mtls_revoke_reason_parse("KEY-COMPROMISE", &r), 0);
	assert_int_equal(mtls_revoke_reason_parse("ca-compromise", &r), 0);
	assert_int_equal(r, MTLS_REVOKE_CA_COMPROMISE);
	assert_int_equal(mtls_revoke_reason_parse("cACompromise", &r), 0);
	assert_int_equal(r, MTLS_REVOKE_CA_COMPROMISE);
	assert_int_equal(mtls_revoke_reason_parse("aa-compromise", &r), 0);
	assert_int_equal(r, MTLS_REVOKE_AA_COMPROMISE);
	assert_int_equal(mtls_revoke_reason_parse("cessation-of-operation",
	    &r), 0);
	assert_int_equal(r, MTLS_REVOKE_CESSATION_OF_OPERATION);
	assert_int_equal(mtls_revoke_reason_parse("privilegeWithdrawn", &r), 0);
	assert_int_equal(r, MTLS_REVOKE_PRIVILEGE_WITHDRAWN);
	assert_int_equal(mtls_revoke_reason_parse("superseded", &r), 0);
	assert_int_equal(r, MTLS_REVOKE_SUPERSEDED);
	assert_int_equal(mtls_revoke_reason_parse("unspecified", &r), 0);
	assert_int_equal(r, MTLS_REVOKE_UNSPECIFIED);
	assert_int_equal(mtls_revoke_reason_parse("key", &r), -1);
	assert_int_equal(mtls_revoke_reason_parse("removeFromCRL", &r), -1);
	assert_int_equal(mtls_revoke_reason_parse("", &r), -1);
	assert_int_equal(mtls_revoke_reason_parse(NULL, &r), -1);
	assert_string_equal(mtls_revoke_reason_name(MTLS_REVOKE_SUPERSEDED),
	    "superseded");
	assert_string_equal(mtls_revoke_reason_name(
	    MTLS_REVOKE_KEY_COMPROMISE), "keyCompromise");
	/* Every CRLReason of a CRL read from elsewhere has its name; 7 and
	 * anything past 10 are no reason. */
	assert_string_equal(mtls_revoke_reason_name(
	    (enum mtls_revoke_reason)8), "removeFromCRL");
	assert_string_equal(mtls_revoke_reason_name(
	    MTLS_REVOKE_AA_COMPROMISE), "aACompromise");
	assert_string_equal(mtls_revoke_reason_name(
	    (enum mtls_revoke_reason)7), "unknown");
	assert_string_equal(mtls_revoke_reason_name(
	    (enum mtls_revoke_reason)11), "unknown");
}

static void
test_revoke(void **state)
{
	struct mtls_error err;
	struct mtls_ca *ca = new_ca("rev"), *other = new_ca("other");
	struct mtls_key *key = mtls_key_generate(MTLS_KEY_EC_P256, &err);
	struct mtls_cert *a = issue(ca, key, "a", 0);
	struct mtls_cert *b = issue(ca, key, "b", 0);
	struct mtls_cert *foreign = issue(other, key, "a", 0);
	char *sa = serial_of(a), *sb = serial_of(b), *in, *want;

	(void)state;
	/* Lower case, colons and leading zeros are all the same serial. */
	in = calloc(1, 3 * strlen(sa) + 8);
	strcpy(in, "00:");
	for (size_t i = 0; sa[i] != '\0'; i += 2) {
		size_t o = strlen(in);
		in[o] = (char)tolower((unsigned char)sa[i]);
		in[o + 1] = (char)tolower((unsigned char)sa[i + 1]);
		in[o + 2] = sa[i + 2] != '\0' ? ':' : '\0';
	}
	assert_int_equal(mtls_ca_revoke(ca, in, MTLS_REVOKE_KEY_COMPROMISE), 0);
	assert_int_equal(mtls_ca_revoke(ca, sa, MTLS_REVOKE_SUPERSEDED), -1);
	assert_non_null(strstr(mtls_ca_error(ca), "already revoked"));
	assert_non_null(strstr(mtls_ca_error(ca), sa));
	free(in);

	/* Unknown and malformed serials. */
	assert_int_equal(mtls_ca_revoke(ca, "0A0B0C", MTLS_REVOKE_UNSPECIFIED),
	    -1);
	assert_int_equal(ca->err.code, MTLS_ERR_NOT_FOUND);
	assert_true(asprintf(&want, "serial 0A0B0C is not in %s/rev/ca.db",
	    dir) > 0);
	assert_string_equal(mtls_ca_error(ca), want);
	free(want);
	assert_int_equal(mtls_ca_revoke(ca, "xyz", MTLS_REVOKE_UNSPECIFIED),
	    -1);
	assert_int_equal(ca->err.code, MTLS_ERR_USAGE);
	assert_int_equal(mtls_ca_revoke(ca, sb, (enum mtls_revoke_reason)7),
	    -1);
	assert_int_equal(ca->err.code, MTLS_ERR_USAGE);
	assert_int_equal(mtls_ca_revoke(ca, sb, (enum mtls_revoke_reason)8),
	    -1);
	assert_int_equal(ca->err.code, MTLS_ERR_USAGE);

	/* By certificate; a certificate of another CA is refused. */
	assert_int_equal(mtls_ca_revoke_cert(ca, b, MTLS_REVOKE_UNSPECIFIED),
	    0);
	assert_int_equal(mtls_ca_revoke_cert(ca, foreign,
	    MTLS_REVOKE_UNSPECIFIED), -1);
	assert_int_equal(ca->err.code, MTLS_ERR_VERIFY);
	assert_non_null(strstr(mtls_ca_error(ca), "was not issued by"));

	mtls_cert_free(a);
	mtls_cert_free(b);
	mtls_cert_free(foreign);
	free(sa);
	free(sb);
	mtls_key_free(key);
	mtls_ca_free(ca);
	mtls_ca_free(other);
}

struct seen {
	int valid, revoked, expired;
	enum mtls_revoke_reason reason;
	time_t revoked_at;
};

static int
tally(const struct mtls_ca_record *rec, void *arg)
{
	struct seen *s = arg;

	assert_int_equal(strlen(rec->serial), 32);
	assert_string_equal(rec->subject, "CN=x");
	assert_int_equal(rec->kind, MTLS_CERT_CLIENT);
	switch (rec->status) {
	case MTLS_STATUS_VALID:
		s->valid++;
		assert_int_equal(rec->revoked_at, 0);
		break;
	case MTLS_STATUS_REVOKED:
		s->revoked++;
		s->reason = rec->reason;
		s->revoked_at = rec->revoked_at;
		break;
	case MTLS_STATUS_EXPIRED:
		s->expired++;
		break;
	}
	return 0;
}

static void
test_list_status(void **state)
{
	struct mtls_error err;
	struct mtls_ca *ca = new_ca("list");
	struct mtls_key *key = mtls_key_generate(MTLS_KEY_EC_P256, &err);
	struct mtls_cert *a = issue(ca, key, "x", 0);
	struct mtls_cert *b = issue(ca, key, "x", 0);
	struct mtls_cert *old = issue(ca, key, "x", -3 * 86400);
	struct seen s = { 0 };
	time_t now = time(NULL);

	(void)state;
	assert_int_equal(mtls_ca_revoke_cert(ca, b,
	    MTLS_REVOKE_CESSATION_OF_OPERATION), 0);
	assert_int_equal(mtls_ca_list(ca, tally, &s), 0);
	assert_int_equal(s.valid, 1);
	assert_int_equal(s.revoked, 1);
	assert_int_equal(s.expired, 1);
	assert_int_equal(s.reason, MTLS_REVOKE_CESSATION_OF_OPERATION);
	assert_true(s.revoked_at >= now - 5 && s.revoked_at <= now + 5);
	mtls_cert_free(a);
	mtls_cert_free(b);
	mtls_cert_free(old);
	mtls_key_free(key);
	mtls_ca_free(ca);
}

static void
test_crl(void **state)
{
	struct mtls_error err;
	struct mtls_ca *ca = new_ca("crl");
	struct mtls_key *key = mtls_key_generate(MTLS_KEY_EC_P256, &err);
	struct mtls_cert *a = issue(ca, key, "a", 0);
	struct mtls_cert *b = issue(ca, key, "b", 0);
	struct mtls_cert *c = issue(ca, key, "c", 0);
	char *path = path_join(dir, "ca.crl");
	X509 *cax = cert_x509(mtls_ca_cert(ca), 0);
	X509_CRL *crl;
	time_t now = time(NULL);

	(void)state;
	/* An empty CRL first: number 1. */
	if (mtls_ca_write_crl(ca, path, 0, 0) != 0)
		fail_msg("%s", mtls_ca_error(ca));
	assert_int_equal(file_mode(path), 0644);
	crl = read_crl(path);
	assert_int_equal(crl_number(crl), 1);
	assert_null(X509_CRL_get_REVOKED(crl)); /* no entries at all */
	X509_CRL_free(crl);

	/* Not replaced without FORCE, and the number is not consumed. */
	assert_int_equal(mtls_ca_write_crl(ca, path, 0, 0), -1);
	assert_int_equal(ca->err.code, MTLS_ERR_EXISTS);

	assert_int_equal(mtls_ca_revoke_cert(ca, a, MTLS_REVOKE_KEY_COMPROMISE),
	    0);
	assert_int_equal(mtls_ca_revoke_cert(ca, b, MTLS_REVOKE_UNSPECIFIED),
	    0);
	assert_int_equal(mtls_ca_write_crl(ca, path, 3, MTLS_WRITE_FORCE), 0);
	crl = read_crl(path);
	assert_int_equal(X509_CRL_get_version(crl), X509_CRL_VERSION_2);
	assert_int_equal(crl_number(crl), 2);
	assert_int_equal(X509_NAME_cmp(X509_CRL_get_issuer(crl),
	    X509_get_subject_name(cax)), 0);
	assert_int_equal(X509_CRL_verify(crl, X509_get0_pubkey(cax)), 1);
	assert_int_equal(X509_CRL_get_signature_nid(crl),
	    NID_ecdsa_with_SHA256);

	AUTHORITY_KEYID *akid = X509_CRL_get_ext_d2i(crl,
	    NID_authority_key_identifier, NULL, NULL);
	assert_non_null(akid);
	assert_true(octets_eq(akid->keyid, X509_get0_subject_key_id(cax)));
	AUTHORITY_KEYID_free(akid);

	time_t last = asn1_time_t(X509_CRL_get0_lastUpdate(crl));
	time_t next = asn1_time_t(X509_CRL_get0_nextUpdate(crl));
	assert_true(last >= now - 5 && last <= now + 5);
	assert_true(next >= now + 3 * 86400 - 5 && next <= now + 3 * 86400 + 5);

	assert_int_equal(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl)), 2);
	assert_int_equal(crl_reason(crl, a), MTLS_REVOKE_KEY_COMPROMISE);
	assert_int_equal(crl_reason(crl, b), -1); /* unspecified: absent */
	assert_int_equal(crl_reason(crl, c), -2); /* not revoked */
	X509_REVOKED *rev = NULL;
	assert_int_equal(X509_CRL_get0_by_serial(crl, &rev,
	    X509_get0_serialNumber(cert_x509(a, 0))), 1);
	time_t rd = asn1_time_t(X509_REVOKED_get0_revocationDate(rev));
	assert_true(rd >= now - 5 && rd <= now + 5);
	X509_CRL_free(crl);

	/* openssl agrees, and the number keeps growing across opens. */
	char *cmd;
	assert_true(asprintf(&cmd, "openssl crl -in '%s' -noout -CAfile "
	    "'%s/crl/ca.crt' 2>&1 | grep -q 'verify OK'", path, dir) > 0);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	char *cadir = path_join(dir, "crl");
	mtls_ca_free(ca);
	ca = mtls_ca_open(cadir, NULL, &err);
	assert_non_null(ca);
	assert_int_equal(mtls_ca_write_crl(ca, path, 0, MTLS_WRITE_FORCE), 0);
	crl = read_crl(path);
	assert_int_equal(crl_number(crl), 3);
	next = asn1_time_t(X509_CRL_get0_nextUpdate(crl));
	assert_true(next >= now + 7 * 86400 - 5 && next <= now + 7 * 86400 + 30);
	X509_CRL_free(crl);

	/* An intermediate revoked in its root's CRL. */
	struct mtls_ca_options o = { 0 };
	o.dir = path_join(dir, "crl-int");
	o.parent_dir = cadir;
	struct mtls_ca *inter = mtls_ca_create(&o, &err);
	assert_non_null(inter);
	assert_int_equal(mtls_ca_revoke_cert(ca, mtls_ca_cert(inter),
	    MTLS_REVOKE_CA_COMPROMISE), 0);
	assert_int_equal(mtls_ca_write_crl(ca, path, 0, MTLS_WRITE_FORCE), 0);
	crl = read_crl(path);
	assert_int_equal(crl_reason(crl, mtls_ca_cert(inter)),
	    MTLS_REVOKE_CA_COMPROMISE);
	X509_CRL_free(crl);
	mtls_ca_free(inter);
	free((char *)o.dir);

	free(cadir);
	free(path);
	mtls_cert_free(a);
	mtls_cert_free(b);
	mtls_cert_free(c);
	mtls_key_free(key);
	mtls_ca_free(ca);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reason_names),
		cmocka_unit_test(test_revoke),
		cmocka_unit_test(test_list_status),
		cmocka_unit_test(test_crl),
	};

	return cmocka_run_group_tests(tests, pki_setup, pki_teardown);
}
