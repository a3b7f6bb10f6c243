/*
 * startcheck.c - the checks at start: mtls doctor's findings on a service's
 * own files, for serve and tunnel, from the command line or a configuration
 * file, at start and at each reload.  A proxy that starts (or reloads) in a
 * state where every handshake must fail only moves the failure to its
 * clients, where it is harder to read.
 */
#include <stdio.h>
#include <string.h>

#include "proxy_int.h"

/* A file that cannot be read, parsed or paired with its key is the
 * loader's to report, in the words every command uses. */
static const char *const loader_codes[] = {
	"file-missing", "file-unreadable", "not-pem-or-der",
	"wrong-object-kind", "key-encrypted-no-passphrase",
	"key-wrong-passphrase", "key-mismatch",
};

static int
is_loader_code(const char *code)
{
	for (size_t j = 0; j < sizeof(loader_codes) / sizeof(loader_codes[0]);
	    j++)
		if (strcmp(code, loader_codes[j]) == 0)
			return 1;
	return 0;
}

size_t
proxy_start_check(const struct proxy_options *o, const char *passphrase,
    proxy_finding_fn fn, void *arg)
{
	struct mtls_doctor_options dopt = { 0 };
	struct mtls_doctor *d;
	struct mtls_error err = { 0 };
	size_t nerr = 0;

	dopt.cert_file = o->cert_file;
	dopt.key_file = o->key_file;
	dopt.ca_file = o->ca_file;
	dopt.crl_file = o->crl_file;
	dopt.role = o->mode == PROXY_TUNNEL ? MTLS_PURPOSE_CLIENT :
	    MTLS_PURPOSE_SERVER;
	dopt.passphrase = passphrase;
	dopt.ca_for_peer_only = 1;
	/* The checks could not run (out of memory): the engine's own
	 * loading says what is wrong, if anything. */
	if ((d = mtls_doctor_run(&dopt, &err)) == NULL)
		return 0;
	for (size_t i = 0; i < mtls_doctor_count(d); i++)
		if (is_loader_code(mtls_doctor_code(d, i)))
			goto out;
	for (size_t i = 0; i < mtls_doctor_count(d); i++) {
		if (mtls_doctor_severity(d, i) != MTLS_SEVERITY_ERROR)
			continue;
		nerr++;
		if (fn != NULL)
			fn(arg, mtls_doctor_code(d, i),
			    mtls_doctor_explanation(d, i),
			    mtls_doctor_fix(d, i));
	}
out:
	mtls_doctor_free(d);
	return nerr;
}

struct first_line {
	char *buf;
	size_t cap;
	int set;
};

static void
first_finding(void *arg, const char *code, const char *explanation,
    const char *fix)
{
	struct first_line *f = arg;

	if (f->set++)
		return;
	snprintf(f->buf, f->cap, "%s: %s fix: %s", code, explanation, fix);
}

int
proxy_start_check_line(const struct proxy_options *o, char *err,
    size_t errlen)
{
	struct first_line f = { err, errlen, 0 };
	size_t n;

	if (o->unsafe_start_anyway)
		return 0;
	if ((n = proxy_start_check(o, o->key_passphrase, first_finding,
	    &f)) == 0)
		return 0;
	if (n > 1 && f.set) {
		size_t len = strlen(err);
		snprintf(err + len, errlen - len, " (and %zu more)", n - 1);
	}
	return -1;
}
