/*
 * ca_set.h - the client CAs a server trusts, as found in its files: which
 * of them are CAs, the longest chain they form (what the verify depth must
 * cover), and whether a CRL file covers every one of them.  Shared by
 * mtls config (snippet.c) and the server configuration audit
 * (doctor/srvconf_audit.c).
 */
#ifndef MTLS_CA_SET_H
#define MTLS_CA_SET_H

#include <openssl/x509.h>

#include "core/internal.h"

struct ca_set {
	STACK_OF(X509) *cas;        /* CA certificates, in file order */
	STACK_OF(X509) *not_cas;    /* other certificates found */
	int longest;                /* CAs in the longest chain, root
	                               included (0: no CA) */
	X509 *bottom;               /* the last CA of that chain */
	int nroots;                 /* self-signed CAs */
};

/* Adds the certificates of path to s.  -1 with err set when the file
 * cannot be read or holds no certificate. */
int ca_set_add_file(struct ca_set *s, const char *path,
    struct mtls_error *err) MTLS_MUST_CHECK;
/* Computes longest, bottom and nroots after the files are added. */
void ca_set_analyse(struct ca_set *s);
/* "Int CA <- Root CA": the longest chain, from the bottom up. */
const char *ca_set_chain_text(const struct ca_set *s, char *buf,
    size_t len);
/* The self-signed CAs, "; "-separated. */
const char *ca_set_roots_text(const struct ca_set *s, char *buf,
    size_t len);
/* The i-th CA that has no CRL in crls (i counts only those), or NULL. */
X509 *ca_set_without_crl(const struct ca_set *s, STACK_OF(X509_CRL) *crls,
    int i);
/* 1 when some other CA of s was issued by ca (ca is not at the bottom of a
 * chain). */
int ca_set_issues_ca(const struct ca_set *s, X509 *ca);
void ca_set_clear(struct ca_set *s);

#endif
