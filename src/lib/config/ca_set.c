/*
 * ca_set.c - the client CAs of a server's files, and the facts a server's
 * configuration depends on: the chain they form and the CRLs they need.
 */
#include <string.h>

#include <openssl/x509v3.h>

#include "config/ca_set.h"
#include "doctor/doctor.h"
#include "x509/inspect.h"

static int
is_ca(X509 *x)
{
	return X509_check_ca(x) != 0;
}

int
ca_set_add_file(struct ca_set *s, const char *path, struct mtls_error *err)
{
	struct x509_objects o;
	int ret = -1;

	memset(&o, 0, sizeof(o));
	if (x509_objects_read_file(path, &o, err) != 0)
		goto out;
	if (o.certs == NULL || sk_X509_num(o.certs) == 0) {
		err_set(err, MTLS_ERR_PARSE, ERR_NOT_A_CERT, path);
		goto out;
	}
	if ((s->cas == NULL && (s->cas = sk_X509_new_null()) == NULL) ||
	    (s->not_cas == NULL &&
	    (s->not_cas = sk_X509_new_null()) == NULL)) {
		err_set(err, MTLS_ERR_NOMEM, "out of memory");
		goto out;
	}
	while (sk_X509_num(o.certs) > 0) {
		X509 *x = sk_X509_shift(o.certs);
		if (!sk_X509_push(is_ca(x) ? s->cas : s->not_cas, x)) {
			X509_free(x);
			err_set(err, MTLS_ERR_NOMEM, "out of memory");
			goto out;
		}
	}
	ret = 0;
out:
	x509_objects_clear(&o);
	return ret;
}

/* The number of CAs from x up to its root within s (x included); a loop or
 * a missing issuer ends the count. */
static int
chain_length(const struct ca_set *s, X509 *x)
{
	int n = 1;

	while (n <= sk_X509_num(s->cas) && (x = find_issuer(x, s->cas)) != NULL)
		n++;
	return n;
}

void
ca_set_analyse(struct ca_set *s)
{
	s->longest = 0;
	s->bottom = NULL;
	s->nroots = 0;
	for (int i = 0; s->cas != NULL && i < sk_X509_num(s->cas); i++) {
		X509 *x = sk_X509_value(s->cas, i);
		int n = chain_length(s, x);
		if (n > s->longest) {
			s->longest = n;
			s->bottom = x;
		}
		if (cert_issued_by(x, x))
			s->nroots++;
	}
}

static size_t
append(char *buf, size_t len, size_t used, const char *sep, const char *s)
{
	int n;

	if (used >= len)
		return used;
	n = snprintf(buf + used, len - used, "%s%s", used > 0 ? sep : "", s);
	return n < 0 ? used : used + (size_t)n;
}

const char *
ca_set_chain_text(const struct ca_set *s, char *buf, size_t len)
{
	char name[256];
	size_t used = 0;
	X509 *x = s->bottom;

	buf[0] = '\0';
	for (int n = 0; x != NULL && n < s->longest; n++) {
		used = append(buf, len, used, " <- ",
		    doctor_cert_name(x, name, sizeof(name)));
		x = find_issuer(x, s->cas);
	}
	return buf;
}

const char *
ca_set_roots_text(const struct ca_set *s, char *buf, size_t len)
{
	char name[256];
	size_t used = 0;

	buf[0] = '\0';
	for (int i = 0; s->cas != NULL && i < sk_X509_num(s->cas); i++) {
		X509 *x = sk_X509_value(s->cas, i);
		if (cert_issued_by(x, x))
			used = append(buf, len, used, "; ",
			    doctor_cert_name(x, name, sizeof(name)));
	}
	return buf;
}

X509 *
ca_set_without_crl(const struct ca_set *s, STACK_OF(X509_CRL) *crls, int i)
{
	for (int k = 0; s->cas != NULL && k < sk_X509_num(s->cas); k++) {
		X509 *x = sk_X509_value(s->cas, k);
		if (crls != NULL && crl_of(crls, x) != NULL)
			continue;
		if (i-- == 0)
			return x;
	}
	return NULL;
}

int
ca_set_issues_ca(const struct ca_set *s, X509 *ca)
{
	for (int k = 0; s->cas != NULL && k < sk_X509_num(s->cas); k++) {
		X509 *x = sk_X509_value(s->cas, k);
		if (x != ca && X509_cmp(x, ca) != 0 && cert_issued_by(x, ca))
			return 1;
	}
	return 0;
}

void
ca_set_clear(struct ca_set *s)
{
	sk_X509_pop_free(s->cas, X509_free);
	sk_X509_pop_free(s->not_cas, X509_free);
	memset(s, 0, sizeof(*s));
}
