/*
 * fuzz_tls_server - what a TLS client sends `mtls serve` before it is
 * authenticated: the bytes of a connection, fed to a server context
 * (mtls_accept_socket + mtls_handshake over a socketpair) configured as
 * serve configures it.  The ClientHello reaches our client-hello callback
 * (its server_name parser and the session id context), the servername
 * callback and OpenSSL; in TLS 1.2 the client's Certificate message comes
 * in the clear, so a fuzzed client chain reaches verification, our verify
 * callback and the access rules.
 *
 * The seeds are client flights recorded against a server trusting the CA
 * below ("Seed Root", public certificate only), so that their client
 * certificates verify until mutated.
 */
#include "fuzz.h"

#include <fcntl.h>
#include <sys/socket.h>

#include <openssl/err.h>

#include "core/internal.h"

static const char seed_root[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBiDCCAS+gAwIBAgIQdy9tYANd0IepGfCOtZpjlDAKBggqhkjOPQQDAjAUMRIw\n"
    "EAYDVQQDDAlTZWVkIFJvb3QwHhcNMjYxMTI4MTkyOTQ0WhcNMzYxMTI1MTkzNDQ0\n"
    "WjAUMRIwEAYDVQQDDAlTZWVkIFJvb3QwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNC\n"
    "AAQQLxuF2GP6fFfD5+f3qYQPz7o/ftMzyeLMqYglM3hHJ/CqYd0eJiC68KRQXKon\n"
    "/drAxjwR4NHhGLcLb3dxYK3eo2MwYTAPBgNVHRMBAf8EBTADAQH/MA4GA1UdDwEB\n"
    "/wQEAwIBBjAdBgNVHQ4EFgQUBU1PxmQZOdza1icxEBZ78Z5i0U0wHwYDVR0jBBgw\n"
    "FoAUBU1PxmQZOdza1icxEBZ78Z5i0U0wCgYIKoZIzj0EAwIDRwAwRAIgFM/NyQ1p\n"
    "OCYiZphMZF3JQpVC0JlroESNBgZcnhz//DQCICfkUm5o4mGPXq8ShE43+KOFfXB2\n"
    "vbpqTOCIOzT9ujyh\n"
    "-----END CERTIFICATE-----\n";

static struct mtls *server;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct mtls_ca_options opt;
	struct mtls_issue_options iopt;
	struct mtls_names names;
	struct mtls_error err;
	struct mtls_key *key;
	struct mtls_cert *cert;
	struct mtls_config *cfg;
	struct mtls_policy *pol;
	char dir[128], crt[160], keyf[160], cas[160];

	(void)argc;
	(void)argv;
	snprintf(dir, sizeof(dir), "%s/ca", fuzz_scratch_dir());
	snprintf(crt, sizeof(crt), "%s/server.crt", fuzz_scratch_dir());
	snprintf(keyf, sizeof(keyf), "%s/server.key", fuzz_scratch_dir());
	snprintf(cas, sizeof(cas), "%s/clients.crt", fuzz_scratch_dir());
	memset(&opt, 0, sizeof(opt));
	opt.dir = dir;
	memset(&names, 0, sizeof(names));
	names.common_name = "localhost";
	memset(&iopt, 0, sizeof(iopt));
	iopt.kind = MTLS_CERT_SERVER;
	struct mtls_ca *ca = mtls_ca_create(&opt, &err);
	if (ca == NULL ||
	    (key = mtls_key_generate(MTLS_KEY_EC_P256, &err)) == NULL ||
	    (cert = mtls_ca_issue(ca, key, &names, &iopt)) == NULL ||
	    mtls_cert_write_file(cert, crt, 0, &err) != 0 ||
	    mtls_key_write_file(key, keyf, NULL, 0, &err) != 0) {
		fprintf(stderr, "fuzz_tls_server: %s %s\n", err.msg,
		    ca ? mtls_ca_error(ca) : "");
		abort();
	}
	fuzz_write_file(cas, seed_root, sizeof(seed_root) - 1);
	mtls_cert_free(cert);
	mtls_key_free(key);
	mtls_ca_free(ca);

	if ((cfg = mtls_config_new()) == NULL ||
	    (pol = mtls_policy_new()) == NULL)
		abort();
	if (mtls_config_set_cert_file(cfg, crt) != 0 ||
	    mtls_config_set_key_file(cfg, keyf, NULL) != 0 ||
	    mtls_config_set_ca_file(cfg, cas) != 0 ||
	    mtls_policy_allow(pol, MTLS_ALLOW_CN, "client", &err) != 0 ||
	    mtls_config_set_policy(cfg, pol) != 0 ||
	    (server = mtls_server()) == NULL ||
	    mtls_configure(server, cfg) != 0) {
		fprintf(stderr, "fuzz_tls_server: %s\n", mtls_config_error(cfg));
		abort();
	}
	mtls_policy_free(pol);
	mtls_config_free(cfg); /* the server context keeps its reference */
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mtls *conn = NULL;
	int fds[2], rc = 0;

	if (size > 65536)
		return 0;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0)
		abort();
	/* Big enough for the whole input and the server's answers. */
	int sz = 256 * 1024;
	(void)setsockopt(fds[1], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	(void)setsockopt(fds[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	if (fcntl(fds[0], F_SETFL, O_NONBLOCK) != 0 ||
	    (size > 0 && write(fds[1], data, size) != (ssize_t)size))
		abort();
	shutdown(fds[1], SHUT_WR); /* then the client is gone */
	if (mtls_accept_socket(server, &conn, fds[0]) == 0) {
		/* Every step consumes input or ends: EOF comes last. */
		for (int i = 0; i < 64; i++) {
			rc = mtls_handshake(conn);
			if (rc != MTLS_WANT_POLLIN && rc != MTLS_WANT_POLLOUT)
				break;
		}
		/* No bytes of ours can make a client authenticated. */
		FUZZ_ASSERT(rc != 0);
		FUZZ_ASSERT(rc == -1 || rc == MTLS_WANT_POLLIN ||
		    rc == MTLS_WANT_POLLOUT);
	}
	mtls_free(conn); /* a failed accept's conn holds its reason */
	close(fds[0]);
	close(fds[1]);
	ERR_clear_error();
	return 0;
}
