/*
 * gen.c - the life of a configuration generation: made in the main thread
 * (a start or a reload), one per worker and service, handed over through
 * the worker's mailbox, referenced by the worker while current and by each
 * connection accepted with it, freed by whichever lets go last.  Only the
 * worker's thread touches a generation once it has been handed over, so
 * its count needs no atomics; the service it points to is shared and is.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy_int.h"

/* What the metrics, the status page and the PROXY header say about the
 * service's own files. */
struct gen_facts {
	time_t cert_not_after;
	time_t ca_not_after;         /* the first anchor to expire */
	time_t crl_next_update;      /* the first CRL to need replacing */
	char sig_alg[64];
	char key_alg[32];
	char by_uri[256];
};

/* Only informative, so a file that does not load leaves its fields 0
 * (building the configuration has already refused it). */
static void
gen_facts(const struct proxy_options *opt, struct gen_facts *f)
{
	struct mtls_error e = { 0 };
	struct mtls_cert_info info;
	struct mtls_cert *cert;
	struct mtls_crl *crl;

	memset(f, 0, sizeof(*f));
	if ((cert = mtls_cert_load_file(opt->cert_file, &e)) != NULL) {
		memset(&info, 0, sizeof(info));
		if (mtls_cert_info(cert, 0, &info, &e) == 0) {
			const char *kt = info.key_type ? info.key_type : "";
			f->cert_not_after = info.not_after;
			if (info.signature_algorithm != NULL)
				snprintf(f->sig_alg, sizeof(f->sig_alg), "%s",
				    info.signature_algorithm);
			/* HAProxy's form: "RSA2048", "EC256". */
			if (strncmp(kt, "EC", 2) == 0)
				snprintf(f->key_alg, sizeof(f->key_alg),
				    "EC%d", info.key_bits);
			else if (strcmp(kt, "RSA") == 0)
				snprintf(f->key_alg, sizeof(f->key_alg),
				    "RSA%d", info.key_bits);
			else
				snprintf(f->key_alg, sizeof(f->key_alg), "%s",
				    kt);
			for (size_t i = 0; i < info.nsans; i++)
				if (info.sans[i].type == MTLS_SAN_URI) {
					snprintf(f->by_uri, sizeof(f->by_uri),
					    "%s", info.sans[i].value);
					break;
				}
			mtls_cert_info_clear(&info);
		}
		mtls_cert_free(cert);
	}
	if ((cert = mtls_cert_load_file(opt->ca_file, &e)) != NULL) {
		for (size_t i = 0; i < mtls_cert_count(cert); i++) {
			memset(&info, 0, sizeof(info));
			if (mtls_cert_info(cert, i, &info, &e) != 0)
				continue;
			if (f->ca_not_after == 0 ||
			    info.not_after < f->ca_not_after)
				f->ca_not_after = info.not_after;
			mtls_cert_info_clear(&info);
		}
		mtls_cert_free(cert);
	}
	if (opt->crl_file != NULL &&
	    (crl = mtls_crl_load_file(opt->crl_file, &e)) != NULL) {
		for (size_t i = 0; i < mtls_crl_count(crl); i++) {
			struct mtls_crl_info ci;
			memset(&ci, 0, sizeof(ci));
			if (mtls_crl_info(crl, i, &ci, &e) != 0)
				continue;
			if (ci.next_update != 0 && (f->crl_next_update == 0 ||
			    ci.next_update < f->crl_next_update))
				f->crl_next_update = ci.next_update;
			mtls_crl_info_clear(&ci);
		}
		mtls_crl_free(crl);
	}
}

static void
gen_free(struct proxy_gen *g)
{
	if (g == NULL)
		return;
	mtls_free(g->tls);
	service_unref(g->svc);
	free(g);
}

static struct proxy_gen *
gen_new(struct proxy_service *svc, struct mtls_config *cfg,
    const struct gen_facts *f, char *err, size_t errlen)
{
	struct proxy_gen *g = calloc(1, sizeof(*g));

	if (g == NULL || (g->tls = svc->opt.mode == PROXY_TUNNEL ?
	    mtls_client() : mtls_server()) == NULL) {
		snprintf(err, errlen, "out of memory");
		free(g);
		return NULL;
	}
	service_ref(svc);
	g->svc = svc;
	/* Builds the TLS context now, in the main thread: a bad file fails
	 * the reload here rather than a connection later. */
	if (mtls_configure(g->tls, cfg) == -1) {
		snprintf(err, errlen, "%s", mtls_error(g->tls));
		gen_free(g);
		return NULL;
	}
	g->cfg = cfg;
	g->refs = 1; /* the worker's "current" reference */
	memcpy(g->sig_alg, f->sig_alg, sizeof(g->sig_alg));
	memcpy(g->key_alg, f->key_alg, sizeof(g->key_alg));
	memcpy(g->by_uri, f->by_uri, sizeof(g->by_uri));
	return g;
}

int
gen_new_set(struct proxy_service *svc, struct mtls_config *cfg,
    struct proxy_gen **gens, int n, char *err, size_t errlen)
{
	struct svc_state *st = svc->st;
	struct gen_facts f;
	int i;

	gen_facts(&svc->opt, &f);
	/* Every worker's context first: either all of them change, or
	 * none does. */
	for (i = 0; i < n; i++)
		if ((gens[i] = gen_new(svc, cfg, &f, err, errlen)) == NULL)
			break;
	if (i < n) {
		while (i-- > 0) {
			gen_free(gens[i]);
			gens[i] = NULL;
		}
		return -1;
	}
	pthread_mutex_lock(&st->lock);
	st->gauges.cert_not_after = f.cert_not_after;
	st->gauges.ca_not_after = f.ca_not_after;
	st->gauges.crl_next_update = f.crl_next_update;
	st->gauges.tunnel = svc->opt.mode == PROXY_TUNNEL;
	pthread_mutex_unlock(&st->lock);
	return 0;
}

void
gen_ref(struct proxy_gen *g)
{
	g->refs++;
}

void
gen_unref(struct proxy_gen *g)
{
	if (g != NULL && --g->refs == 0)
		gen_free(g);
}
