/*
 * fuzz_tls_client - what a server sends `mtls connect`, `mtls tunnel` and
 * `mtls doctor --connect` before it is authenticated: the bytes of a
 * connection, fed to a client context (mtls_connect_socket + mtls_handshake
 * over a socketpair, the handshake trace on).  ServerHello, and in TLS 1.2
 * the server's Certificate and CertificateRequest in the clear, reach the
 * message callback and its trace parser, server certificate verification
 * and the list of acceptable CA names (then read back as doctor does).
 *
 * The seeds are server flights recorded from a server whose certificate
 * the CA below ("Seed Root", public certificate only) issued.
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

static struct mtls_config *cfg;
static size_t trace_lines;

static void
trace_line(void *arg, const char *line)
{
	(void)arg;
	FUZZ_ASSERT(line != NULL);
	trace_lines++;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char cas[160];

	(void)argc;
	(void)argv;
	snprintf(cas, sizeof(cas), "%s/servers.crt", fuzz_scratch_dir());
	fuzz_write_file(cas, seed_root, sizeof(seed_root) - 1);
	if ((cfg = mtls_config_new()) == NULL ||
	    mtls_config_set_ca_file(cfg, cas) != 0) {
		fprintf(stderr, "fuzz_tls_client: %s\n",
		    cfg ? mtls_config_error(cfg) : "out of memory");
		abort();
	}
	/* Each connection on its own: no session to offer. */
	mtls_config_disable_resumption(cfg);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mtls *client;
	char buf[512];
	int fds[2], rc = 0;

	if (size > 65536)
		return 0;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0)
		abort();
	int sz = 256 * 1024;
	(void)setsockopt(fds[1], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	(void)setsockopt(fds[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	if (fcntl(fds[0], F_SETFL, O_NONBLOCK) != 0 ||
	    (size > 0 && write(fds[1], data, size) != (ssize_t)size))
		abort();
	shutdown(fds[1], SHUT_WR);
	if ((client = mtls_client()) == NULL || mtls_configure(client, cfg) != 0)
		abort();
	mtls_set_trace(client, trace_line, NULL);
	if (mtls_connect_socket(client, fds[0], "localhost") == 0) {
		for (int i = 0; i < 64; i++) {
			rc = mtls_handshake(client);
			if (rc != MTLS_WANT_POLLIN && rc != MTLS_WANT_POLLOUT)
				break;
		}
		/* Replayed bytes cannot match this connection's keys. */
		FUZZ_ASSERT(rc != 0);
		for (size_t i = 0; i < mtls_conn_ca_name_count(client) && i < 64;
		    i++) {
			memset(buf, 'x', sizeof(buf));
			if (mtls_conn_ca_name(client, i, buf, sizeof(buf)) != NULL)
				FUZZ_ASSERT(memchr(buf, '\0', sizeof(buf)) != NULL);
		}
		(void)mtls_conn_verify_problem(client);
		(void)mtls_conn_alert_received(client);
		for (size_t i = 0; i < mtls_peer_chain_count(client) && i < 8;
		    i++) {
			struct mtls_cert_info info;
			struct mtls_error err;
			memset(&info, 0, sizeof(info));
			(void)mtls_peer_chain_info(client, i, &info, &err);
			mtls_cert_info_clear(&info);
		}
	}
	mtls_free(client);
	close(fds[0]);
	close(fds[1]);
	ERR_clear_error();
	return 0;
}
