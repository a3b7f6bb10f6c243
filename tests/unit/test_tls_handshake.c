/*
 * test_tls_handshake.c - a server and a client context in one process over
 * a non-blocking socketpair, both driven in a loop: who gets in, who is
 * refused with which alert and reason, peer facts, resumption and the
 * re-authorization of a resumed session.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <pthread.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "mtls.h"
#include "certgen.h"
#include "tls/tls_internal.h" /* the verification cache's counters */
#include "x509/verify_words.h"

static char dir[256];
static struct tpki ca, other_ca, srv, cli, cli_uri, cli_expired,
    srv_as_client, other_cli;
static char ca_crt[300], ca_key[300], other_crt[300], other_key[300];
static char srv_crt[300], srv_key[300], cli_crt[300], cli_key[300];
static char uri_crt[300], uri_key[300], exp_crt[300], exp_key[300];
static char sac_crt[300], sac_key[300], oc_crt[300], oc_key[300];

static int
setup_all(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/mtls-tls-test.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	ca = tpki_make(NULL, "Test Root CA", NULL, NULL, NULL, -60, 86400);
	other_ca = tpki_make(NULL, "Other CA", NULL, NULL, NULL, -60, 86400);
	srv = tpki_make(&ca, "localhost", NULL, "serverAuth",
	    "DNS:localhost,IP:127.0.0.1", -60, 86400);
	cli = tpki_make(&ca, "client", "eng", "clientAuth",
	    "DNS:client.example.com,email:ops@example.com", -60, 86400);
	cli_uri = tpki_make(&ca, "web", NULL, "clientAuth",
	    "URI:api.example.com,URI:spiffe://td/ns/prod/sa/web", -60, 86400);
	cli_expired = tpki_make(&ca, "old", NULL, "clientAuth", NULL,
	    -7200, -3600);
	srv_as_client = tpki_make(&ca, "server-only", NULL, "serverAuth",
	    "DNS:server-only", -60, 86400);
	other_cli = tpki_make(&other_ca, "stranger", NULL, "clientAuth", NULL,
	    -60, 86400);
	tpki_write(dir, "ca", &ca, NULL, ca_crt, ca_key, 300);
	tpki_write(dir, "other", &other_ca, NULL, other_crt, other_key, 300);
	tpki_write(dir, "srv", &srv, NULL, srv_crt, srv_key, 300);
	tpki_write(dir, "cli", &cli, NULL, cli_crt, cli_key, 300);
	tpki_write(dir, "uri", &cli_uri, NULL, uri_crt, uri_key, 300);
	tpki_write(dir, "exp", &cli_expired, NULL, exp_crt, exp_key, 300);
	tpki_write(dir, "sac", &srv_as_client, NULL, sac_crt, sac_key, 300);
	tpki_write(dir, "oc", &other_cli, &other_ca, oc_crt, oc_key, 300);
	return 0;
}

static int
teardown_all(void **state)
{
	(void)state;
	char cmd[400];
	struct tpki *all[] = { &ca, &other_ca, &srv, &cli, &cli_uri,
	    &cli_expired, &srv_as_client, &other_cli };
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		tpki_free(all[i]);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* A server config: our CA, the given policy rule (kind 0: allow any). */
static struct mtls_config *
server_config(enum mtls_rule_kind kind, const char *value)
{
	struct mtls_config *cfg = mtls_config_new();
	struct mtls_policy *pol = mtls_policy_new();
	struct mtls_error err;

	assert_non_null(cfg);
	assert_int_equal(mtls_config_set_cert_file(cfg, srv_crt), 0);
	assert_int_equal(mtls_config_set_key_file(cfg, srv_key, NULL), 0);
	assert_int_equal(mtls_config_set_ca_file(cfg, ca_crt), 0);
	assert_int_equal(mtls_policy_allow(pol, kind ? kind : MTLS_ALLOW_ANY,
	    value, &err), 0);
	assert_int_equal(mtls_config_set_policy(cfg, pol), 0);
	mtls_policy_free(pol);
	return cfg;
}

static struct mtls_config *
client_config(const char *crt, const char *key, int max)
{
	struct mtls_config *cfg = mtls_config_new();

	assert_non_null(cfg);
	if (crt != NULL) {
		assert_int_equal(mtls_config_set_cert_file(cfg, crt), 0);
		assert_int_equal(mtls_config_set_key_file(cfg, key, NULL), 0);
	}
	assert_int_equal(mtls_config_set_ca_file(cfg, ca_crt), 0);
	assert_int_equal(mtls_config_set_protocols(cfg, 0, max), 0);
	return cfg;
}

struct pair {
	struct mtls *server, *conn, *client;
	int fds[2];
	int crc, src; /* handshake results */
};

/* Runs one handshake between a client configured with ccfg and a server
 * configured with scfg (contexts kept for reuse when already set). */
static void
pair_run_as(struct pair *p, struct mtls_config *scfg,
    struct mtls_config *ccfg, const char *servername)
{
	if (p->server == NULL) {
		p->server = mtls_server();
		assert_int_equal(mtls_configure(p->server, scfg), 0);
	}
	if (p->client == NULL) {
		p->client = mtls_client();
		int rc = mtls_configure(p->client, ccfg);
		assert_int_equal(rc, 0);
	}
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, p->fds), 0);
	fcntl(p->fds[0], F_SETFL, O_NONBLOCK);
	fcntl(p->fds[1], F_SETFL, O_NONBLOCK);
	assert_int_equal(mtls_accept_socket(p->server, &p->conn, p->fds[0]),
	    0);
	assert_int_equal(mtls_connect_socket(p->client, p->fds[1],
	    servername), 0);
	int cdone = 0, sdone = 0;
	for (int i = 0; i < 1000 && !(cdone && sdone); i++) {
		if (!cdone) {
			p->crc = mtls_handshake(p->client);
			cdone = p->crc == 0 || p->crc == -1;
		}
		if (!sdone) {
			p->src = mtls_handshake(p->conn);
			sdone = p->src == 0 || p->src == -1;
		}
	}
	assert_true(cdone && sdone);
}

static void
pair_run(struct pair *p, struct mtls_config *scfg, struct mtls_config *ccfg)
{
	pair_run_as(p, scfg, ccfg, "localhost");
}

/* After a TLS 1.3 handshake the client learns of a refusal by reading. */
static const char *
client_alert_after_read(struct pair *p)
{
	char buf[16];
	for (int i = 0; i < 100; i++) {
		ssize_t n = mtls_read(p->client, buf, sizeof(buf));
		if (n == -1 || n == 0)
			break;
	}
	return mtls_conn_alert_received(p->client);
}

/* A byte each way, so that the client also reads the session tickets. */
static void
exchange(struct pair *p)
{
	char buf[8];
	ssize_t n;

	assert_int_equal(mtls_write(p->conn, "s", 1), 1);
	assert_int_equal(mtls_write(p->client, "c", 1), 1);
	for (int i = 0; i < 100; i++)
		if ((n = mtls_read(p->client, buf, sizeof(buf))) !=
		    MTLS_WANT_POLLIN)
			break;
	assert_int_equal(n, 1);
	assert_int_equal(buf[0], 's');
	for (int i = 0; i < 100; i++)
		if ((n = mtls_read(p->conn, buf, sizeof(buf))) !=
		    MTLS_WANT_POLLIN)
			break;
	assert_int_equal(n, 1);
	assert_int_equal(buf[0], 'c');
}

static void
pair_close_conn(struct pair *p)
{
	mtls_close(p->client);
	mtls_close(p->conn);
	mtls_free(p->conn);
	p->conn = NULL;
	close(p->fds[0]);
	close(p->fds[1]);
}

static void
pair_free(struct pair *p)
{
	pair_close_conn(p);
	mtls_free(p->client);
	mtls_free(p->server);
}

static void
success(int max)
{
	struct mtls_config *scfg = server_config(MTLS_ALLOW_CN, "client");
	struct mtls_config *ccfg = client_config(cli_crt, cli_key, max);
	struct pair p = { 0 };
	enum mtls_san_type type;
	char buf[256];

	pair_run(&p, scfg, ccfg);
	assert_int_equal(p.crc, 0);
	assert_int_equal(p.src, 0);
	assert_string_equal(mtls_conn_version(p.conn),
	    max == MTLS_TLS1_2 ? "TLSv1.2" : "TLSv1.3");
	assert_non_null(mtls_conn_cipher(p.client));
	assert_non_null(strstr(mtls_conn_cipher(p.client), "GCM"));
	assert_string_equal(mtls_conn_group(p.client), "X25519");
	assert_false(mtls_conn_session_resumed(p.conn));
	assert_null(mtls_conn_reject_reason(p.conn));
	/* The server's view of the client. */
	assert_true(mtls_peer_cert_provided(p.conn));
	assert_string_equal(mtls_peer_cert_common_name(p.conn), "client");
	assert_string_equal(mtls_peer_cert_subject(p.conn), "CN=client,OU=eng");
	assert_string_equal(mtls_peer_cert_issuer(p.conn), "CN=Test Root CA");
	assert_int_equal(strncmp(mtls_peer_cert_hash(p.conn), "sha256:", 7), 0);
	assert_int_equal(strlen(mtls_peer_cert_hash(p.conn)), 71);
	assert_true(mtls_peer_cert_notafter(p.conn) > time(NULL));
	assert_true(mtls_peer_cert_notbefore(p.conn) < time(NULL));
	assert_int_equal(mtls_peer_san_count(p.conn), 2);
	assert_string_equal(mtls_peer_san(p.conn, 0, &type),
	    "client.example.com");
	assert_int_equal(type, MTLS_SAN_DNS);
	assert_string_equal(mtls_peer_san(p.conn, 1, &type), "ops@example.com");
	assert_int_equal(type, MTLS_SAN_EMAIL);
	assert_null(mtls_peer_san(p.conn, 2, &type));
	size_t len;
	const char *pem = mtls_peer_cert_chain_pem(p.conn, &len);
	assert_non_null(pem);
	assert_true(len > 100);
	assert_non_null(strstr(pem, "BEGIN CERTIFICATE"));
	/* The client's view. */
	assert_true(mtls_conn_cert_requested(p.client));
	assert_true(mtls_conn_cert_sent(p.client));
	assert_int_equal(mtls_conn_ca_name_count(p.client), 1);
	assert_string_equal(mtls_conn_ca_name(p.client, 0, buf, sizeof(buf)),
	    "CN=Test Root CA");
	assert_string_equal(mtls_peer_cert_common_name(p.client), "localhost");
	assert_null(mtls_conn_verify_problem(p.client));
	assert_string_equal(mtls_conn_servername(p.conn), "localhost");
	exchange(&p);
	pair_free(&p);
	mtls_config_free(scfg);
	mtls_config_free(ccfg);
}

static void
test_success_tls13(void **state)
{
	(void)state;
	success(MTLS_TLS1_3);
}

static void
test_success_tls12(void **state)
{
	(void)state;
	success(MTLS_TLS1_2);
}

/* Refused: the server fails with reason and alert; the client sees it. */
static void
refused(const char *crt, const char *key, int max, enum mtls_rule_kind kind,
    const char *value, const char *reason, const char *alert)
{
	struct mtls_config *scfg = server_config(kind, value);
	struct mtls_config *ccfg = client_config(crt, key, max);
	struct pair p = { 0 };

	pair_run(&p, scfg, ccfg);
	assert_int_equal(p.src, -1);
	assert_non_null(mtls_conn_reject_reason(p.conn));
	if (strstr(mtls_conn_reject_reason(p.conn), reason) == NULL)
		fail_msg("reason '%s' lacks '%s'",
		    mtls_conn_reject_reason(p.conn), reason);
	assert_non_null(mtls_error(p.conn));
	assert_non_null(strstr(mtls_error(p.conn), reason));
	assert_string_equal(mtls_conn_alert_sent(p.conn), alert);
	const char *got = p.crc == -1 ? mtls_conn_alert_received(p.client) :
	    client_alert_after_read(&p);
	assert_non_null(got);
	assert_string_equal(got, alert);
	pair_free(&p);
	mtls_config_free(scfg);
	mtls_config_free(ccfg);
}

static void
test_no_client_cert(void **state)
{
	(void)state;
	refused(NULL, NULL, MTLS_TLS1_3, 0, NULL, "no client certificate",
	    "certificate_required");
	refused(NULL, NULL, MTLS_TLS1_2, 0, NULL, "no client certificate",
	    "handshake_failure");
}

static void
test_other_ca(void **state)
{
	(void)state;
	refused(oc_crt, oc_key, MTLS_TLS1_3, 0, NULL,
	    "unknown CA: issuer CN=Other CA is not trusted", "unknown_ca");
}

static void
test_server_cert_as_client(void **state)
{
	(void)state;
	refused(sac_crt, sac_key, MTLS_TLS1_3, 0, NULL,
	    "is not valid for client authentication",
	    "unsupported_certificate");
}

static void
test_expired_client(void **state)
{
	(void)state;
	refused(exp_crt, exp_key, MTLS_TLS1_3, 0, NULL,
	    "client certificate expired (CN=old, notAfter",
	    "certificate_expired");
}

static void
test_policy_deny(void **state)
{
	(void)state;
	/* OpenSSL 3.0 sends handshake_failure for an application refusal on
	 * a full handshake (see tls_verify.c). */
	refused(cli_crt, cli_key, MTLS_TLS1_3, MTLS_ALLOW_CN, "someone-else",
	    "no rule allows CN=client, DNS:client.example.com, "
	    "email:ops@example.com", "handshake_failure");
	refused(cli_crt, cli_key, MTLS_TLS1_2, MTLS_ALLOW_DNS,
	    "other.example.com", "no rule allows CN=client",
	    "handshake_failure");
}

/* Each refusal carries its code from the reason table, beside the
 * words; the client reads the server's refusal alert as the same code. */
static void
test_reject_codes(void **state)
{
	(void)state;
	static const struct {
		const char *crt, *key;
		enum mtls_rule_kind kind;
		const char *value;
		enum mtls_reject_code code;
	} cases[] = {
		{ NULL, NULL, 0, NULL, MTLS_REJECT_NO_CERT },
		{ oc_crt, oc_key, 0, NULL, MTLS_REJECT_UNKNOWN_CA },
		{ sac_crt, sac_key, 0, NULL, MTLS_REJECT_USAGE },
		{ exp_crt, exp_key, 0, NULL, MTLS_REJECT_EXPIRED },
		{ cli_crt, cli_key, MTLS_ALLOW_CN, "someone-else",
		    MTLS_REJECT_RULES },
		{ cli_crt, cli_key, MTLS_ALLOW_CN, "client",
		    MTLS_REJECT_NONE },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct mtls_config *scfg = server_config(cases[i].kind,
		    cases[i].value);
		struct mtls_config *ccfg = client_config(cases[i].crt,
		    cases[i].key, MTLS_TLS1_3);
		struct pair p = { 0 };

		pair_run(&p, scfg, ccfg);
		if (mtls_conn_reject_code(p.conn) != cases[i].code)
			fail_msg("case %zu: code %s, expected %s", i,
			    mtls_reject_code_name(mtls_conn_reject_code(
			    p.conn)), mtls_reject_code_name(cases[i].code));
		assert_int_equal(cases[i].code == MTLS_REJECT_NONE,
		    mtls_conn_reject_reason(p.conn) == NULL);
		if (cases[i].code == MTLS_REJECT_UNKNOWN_CA) {
			if (p.crc != -1)
				(void)client_alert_after_read(&p);
			assert_int_equal(mtls_conn_reject_code(p.client),
			    MTLS_REJECT_UNKNOWN_CA);
		}
		pair_free(&p);
		mtls_config_free(scfg);
		mtls_config_free(ccfg);
	}
	assert_int_equal(mtls_conn_reject_code(NULL), MTLS_REJECT_NONE);
	assert_string_equal(mtls_reject_code_name(MTLS_REJECT_RULES),
	    "access_denied");
	assert_string_equal(mtls_reject_code_name((enum mtls_reject_code)999),
	    "other");
}

/* A server that answers in plain text is no TLS server: the client's
 * code says so (OpenSSL's reason, not its words), for mtls connect's hint. */
static void
test_reject_code_not_tls(void **state)
{
	(void)state;
	struct mtls_config *ccfg = client_config(cli_crt, cli_key,
	    MTLS_TLS1_3);
	struct mtls *client = mtls_client();
	static const char answer[] = "HTTP/1.1 400 Bad Request\r\n\r\n";
	int fds[2], rc = MTLS_WANT_POLLIN;

	assert_int_equal(mtls_configure(client, ccfg), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
	assert_int_equal(write(fds[0], answer, sizeof(answer) - 1),
	    (ssize_t)sizeof(answer) - 1);
	assert_int_equal(mtls_connect_socket(client, fds[1], "localhost"), 0);
	for (int i = 0; i < 100 && rc != 0 && rc != -1; i++)
		rc = mtls_handshake(client);
	assert_int_equal(rc, -1);
	assert_int_equal(mtls_conn_reject_code(client), MTLS_REJECT_NOT_TLS);
	assert_string_equal(mtls_reject_code_name(MTLS_REJECT_NOT_TLS),
	    "not_tls");
	mtls_free(client);
	mtls_config_free(ccfg);
	close(fds[0]);
	close(fds[1]);
}

/* A dns rule never matches a URI SAN with the same text. */
static void
test_dns_rule_vs_uri_san(void **state)
{
	(void)state;
	refused(uri_crt, uri_key, MTLS_TLS1_3, MTLS_ALLOW_DNS,
	    "api.example.com", "no rule allows CN=web, URI:api.example.com",
	    "handshake_failure");

	struct mtls_config *scfg = server_config(MTLS_ALLOW_URI,
	    "spiffe://td/ns/*/sa/web");
	struct mtls_config *ccfg = client_config(uri_crt, uri_key, 0);
	struct pair p = { 0 };
	pair_run(&p, scfg, ccfg);
	assert_int_equal(p.src, 0);
	pair_free(&p);
	mtls_config_free(scfg);
	mtls_config_free(ccfg);
}

static void
resumption(int max)
{
	struct mtls_config *scfg = server_config(MTLS_ALLOW_CN, "client");
	struct mtls_config *ccfg = client_config(cli_crt, cli_key, max);
	struct pair p = { 0 };

	pair_run(&p, scfg, ccfg);
	assert_int_equal(p.src, 0);
	assert_false(mtls_conn_session_resumed(p.client));
	exchange(&p);
	pair_close_conn(&p);

	/* The same client context reconnects: the session is resumed, and
	 * the peer facts come from the session. */
	pair_run(&p, scfg, ccfg);
	assert_int_equal(p.crc, 0);
	assert_int_equal(p.src, 0);
	assert_true(mtls_conn_session_resumed(p.client));
	assert_true(mtls_conn_session_resumed(p.conn));
	assert_string_equal(mtls_peer_cert_common_name(p.conn), "client");
	exchange(&p);
	pair_close_conn(&p);

	/* The rules change on the live config: the next resumption is
	 * authorized again, and refused with access_denied. */
	struct mtls_policy *pol = mtls_policy_new();
	struct mtls_error err;
	assert_int_equal(mtls_policy_allow(pol, MTLS_ALLOW_CN, "nobody",
	    &err), 0);
	assert_int_equal(mtls_config_set_policy(scfg, pol), 0);
	mtls_policy_free(pol);
	pair_run(&p, scfg, ccfg);
	assert_int_equal(p.src, -1);
	assert_non_null(mtls_conn_reject_reason(p.conn));
	assert_non_null(strstr(mtls_conn_reject_reason(p.conn),
	    "no rule allows CN=client"));
	assert_string_equal(mtls_conn_alert_sent(p.conn), "access_denied");
	assert_int_equal(p.crc, -1);
	assert_string_equal(mtls_conn_alert_received(p.client),
	    "access_denied");
	pair_free(&p);

	/* A new config (a reload) with other rules does not resume sessions
	 * made under the old one. */
	struct mtls_config *scfg2 = server_config(MTLS_ALLOW_DNS,
	    "client.example.com");
	struct pair q = { 0 };
	q.client = mtls_client();
	assert_int_equal(mtls_configure(q.client, ccfg), 0);
	pair_run(&q, scfg2, ccfg);
	assert_int_equal(q.src, 0);
	assert_false(mtls_conn_session_resumed(q.conn));
	pair_free(&q);

	mtls_config_free(scfg);
	mtls_config_free(scfg2);
	mtls_config_free(ccfg);
}

/* A connection that just goes away (no close_notify, as when a client
 * closes its socket) leaves its session resumable on both sides. */
static void
resumption_without_close(int max)
{
	struct mtls_config *scfg = server_config(MTLS_ALLOW_CN, "client");
	struct mtls_config *ccfg = client_config(cli_crt, cli_key, max);
	struct pair p = { 0 };

	for (int i = 0; i < 3; i++) {
		pair_run(&p, scfg, ccfg);
		assert_int_equal(p.src, 0);
		assert_int_equal(mtls_conn_session_resumed(p.conn), i > 0);
		exchange(&p);
		mtls_free(p.conn);
		p.conn = NULL;
		close(p.fds[0]);
		close(p.fds[1]);
	}
	pair_free(&p);
	mtls_config_free(scfg);
	mtls_config_free(ccfg);
}

static void
test_resumption_without_close(void **state)
{
	(void)state;
	resumption_without_close(MTLS_TLS1_3);
	resumption_without_close(MTLS_TLS1_2);
}

/* One handshake of a raw OpenSSL client (our client certificate) asking for
 * sni and offering sess; a byte each way so that TLS 1.3 tickets are read.
 * Returns the client's session, and whether the server resumed. */
static SSL_SESSION *
raw_resume(struct mtls *server, SSL_CTX *cctx, const char *sni,
    SSL_SESSION *sess, int *resumed)
{
	struct mtls *conn = NULL;
	SSL *c = SSL_new(cctx);
	int fds[2], crc = -1, src = MTLS_WANT_POLLIN;
	char b;

	assert_non_null(c);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
	fcntl(fds[0], F_SETFL, O_NONBLOCK);
	fcntl(fds[1], F_SETFL, O_NONBLOCK);
	SSL_set_fd(c, fds[1]);
	SSL_set_connect_state(c);
	SSL_set_tlsext_host_name(c, sni);
	if (sess != NULL)
		assert_int_equal(SSL_set_session(c, sess), 1);
	assert_int_equal(mtls_accept_socket(server, &conn, fds[0]), 0);
	for (int i = 0; i < 100 && (crc != 1 || src != 0); i++) {
		if (crc != 1)
			crc = SSL_do_handshake(c);
		if (src != 0 && src != -1)
			src = mtls_handshake(conn);
	}
	assert_int_equal(src, 0);
	assert_int_equal(crc, 1);
	assert_int_equal(mtls_write(conn, "s", 1), 1);
	for (int i = 0; i < 100 && SSL_read(c, &b, 1) != 1; i++)
		;
	*resumed = mtls_conn_session_resumed(conn);
	assert_int_equal(*resumed, SSL_session_reused(c));
	SSL_SESSION *out = SSL_get1_session(c);
	SSL_shutdown(c);
	mtls_close(conn);
	SSL_free(c);
	mtls_free(conn);
	close(fds[0]);
	close(fds[1]);
	return out;
}

/* RFC 6066 section 3: a session is never resumed under another server
 * name (nor without one), with the server's cache or with tickets. */
static void
resumption_other_sni(long max, int tickets)
{
	struct mtls_config *scfg = server_config(MTLS_ALLOW_CN, "client");
	struct mtls *server = mtls_server();
	SSL_CTX *cctx = SSL_CTX_new(TLS_client_method());
	SSL_SESSION *s1, *s2, *s3;
	int resumed;

	if (tickets) {
		char path[300];
		unsigned char key[80];
		snprintf(path, sizeof(path), "%s/tickets.key", dir);
		for (size_t i = 0; i < sizeof(key); i++)
			key[i] = (unsigned char)(i * 7 + 3);
		FILE *f = fopen(path, "wb");
		assert_non_null(f);
		assert_int_equal(fwrite(key, 1, sizeof(key), f), sizeof(key));
		fclose(f);
		assert_int_equal(mtls_config_set_ticket_key_file(scfg, path),
		    0);
	}
	assert_int_equal(mtls_configure(server, scfg), 0);
	SSL_CTX_set_max_proto_version(cctx, max);
	SSL_CTX_set_session_cache_mode(cctx, SSL_SESS_CACHE_CLIENT);
	assert_int_equal(SSL_CTX_use_certificate(cctx, cli.cert), 1);
	assert_int_equal(SSL_CTX_use_PrivateKey(cctx, cli.key), 1);

	s1 = raw_resume(server, cctx, "localhost", NULL, &resumed);
	assert_false(resumed);
	/* The control: the same name resumes. */
	s2 = raw_resume(server, cctx, "localhost", s1, &resumed);
	assert_true(resumed);
	/* Another name, or the same in other case: a full handshake. */
	s3 = raw_resume(server, cctx, "other.example", s2, &resumed);
	assert_false(resumed);
	SSL_SESSION_free(s3);
	s3 = raw_resume(server, cctx, "LOCALHOST", s2, &resumed);
	assert_false(resumed);
	SSL_SESSION_free(s3);
	/* And a session made for another name is not resumed here. */
	s3 = raw_resume(server, cctx, "other.example", NULL, &resumed);
	SSL_SESSION_free(s2);
	s2 = raw_resume(server, cctx, "localhost", s3, &resumed);
	assert_false(resumed);

	SSL_SESSION_free(s1);
	SSL_SESSION_free(s2);
	SSL_SESSION_free(s3);
	SSL_CTX_free(cctx);
	mtls_free(server);
	mtls_config_free(scfg);
}

static void
test_resumption_other_sni(void **state)
{
	(void)state;
	resumption_other_sni(TLS1_3_VERSION, 0);
	resumption_other_sni(TLS1_2_VERSION, 0);
	resumption_other_sni(TLS1_3_VERSION, 1);
	resumption_other_sni(TLS1_2_VERSION, 1);
}

/* N connections in flight at once, each client context its own, all on
 * one client config; returns how many the server resumed. */
#define NCONC 8
static int
concurrent_round(struct mtls_config *scfg, struct mtls_config *ccfg,
    struct pair p[NCONC])
{
	int resumed = 0;

	for (int k = 0; k < NCONC; k++) {
		if (p[k].server == NULL) {
			p[k].server = mtls_server();
			assert_int_equal(mtls_configure(p[k].server, scfg), 0);
			p[k].client = mtls_client();
			assert_int_equal(mtls_configure(p[k].client, ccfg), 0);
		}
		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0,
		    p[k].fds), 0);
		fcntl(p[k].fds[0], F_SETFL, O_NONBLOCK);
		fcntl(p[k].fds[1], F_SETFL, O_NONBLOCK);
		assert_int_equal(mtls_accept_socket(p[k].server, &p[k].conn,
		    p[k].fds[0]), 0);
		/* Every client picks its session before any handshake is
		 * over: the concurrent case. */
		assert_int_equal(mtls_connect_socket(p[k].client,
		    p[k].fds[1], "localhost"), 0);
		p[k].crc = p[k].src = MTLS_WANT_POLLIN;
	}
	for (int i = 0; i < 1000; i++) {
		int busy = 0;
		for (int k = 0; k < NCONC; k++) {
			if (p[k].crc != 0 && p[k].crc != -1)
				p[k].crc = mtls_handshake(p[k].client);
			if (p[k].src != 0 && p[k].src != -1)
				p[k].src = mtls_handshake(p[k].conn);
			busy |= (p[k].crc != 0 && p[k].crc != -1) ||
			    (p[k].src != 0 && p[k].src != -1);
		}
		if (!busy)
			break;
	}
	for (int k = 0; k < NCONC; k++) {
		assert_int_equal(p[k].crc, 0);
		assert_int_equal(p[k].src, 0);
		resumed += mtls_conn_session_resumed(p[k].conn);
		exchange(&p[k]);
		pair_close_conn(&p[k]);
	}
	return resumed;
}

/* TLS 1.3 tickets are single-use: 8 concurrent connections sharing one
 * client config each take a ticket of their own from the pool, so all 8
 * resume after a first round, and again after the second. */
static void
test_resumption_concurrent(void **state)
{
	(void)state;
	struct mtls_config *scfg = server_config(MTLS_ALLOW_CN, "client");
	struct mtls_config *ccfg = client_config(cli_crt, cli_key, 0);
	struct pair p[NCONC];

	memset(p, 0, sizeof(p));
	assert_int_equal(concurrent_round(scfg, ccfg, p), 0);
	assert_int_equal(concurrent_round(scfg, ccfg, p), NCONC);
	assert_int_equal(concurrent_round(scfg, ccfg, p), NCONC);

	/* A connection that ends in a fatal error makes OpenSSL mark its
	 * session (and the ticket it just received) not resumable: that
	 * costs that connection's ticket only, not the others'. */
	struct pair bad = { 0 };
	char buf[8];
	pair_run(&bad, scfg, ccfg);
	assert_int_equal(bad.src, 0);
	assert_true(mtls_conn_session_resumed(bad.conn));
	assert_int_equal(mtls_write(bad.conn, "s", 1), 1);
	assert_int_equal(write(bad.fds[0], "\x17\x03\x03\x00\x20"
	    "garbage-garbage-garbage-garbage!", 37), 37);
	ssize_t n = 0;
	for (int i = 0; i < 10 && n != -1; i++)
		n = mtls_read(bad.client, buf, sizeof(buf));
	assert_int_equal(n, -1);
	assert_string_equal(mtls_conn_alert_sent(bad.client),
	    "bad_record_mac");
	pair_free(&bad);
	assert_true(concurrent_round(scfg, ccfg, p) >= NCONC - 1);
	for (int k = 0; k < NCONC; k++) {
		mtls_free(p[k].client);
		mtls_free(p[k].server);
	}
	mtls_config_free(scfg);
	mtls_config_free(ccfg);
}

static void
test_resumption_tls13(void **state)
{
	(void)state;
	resumption(MTLS_TLS1_3);
}

static void
test_resumption_tls12(void **state)
{
	(void)state;
	resumption(MTLS_TLS1_2);
}

/* The client side: a wrong name and an untrusted server are refused with
 * the reason in words. */
static void
test_client_checks_server(void **state)
{
	(void)state;
	struct mtls_config *scfg = server_config(0, NULL);
	struct mtls_config *ccfg = client_config(cli_crt, cli_key, 0);
	struct pair p = { 0 };

	pair_run_as(&p, scfg, ccfg, "wrong.example.com");
	assert_int_equal(p.crc, -1);
	assert_non_null(mtls_conn_verify_problem(p.client));
	assert_non_null(strstr(mtls_conn_verify_problem(p.client),
	    "does not match the name wrong.example.com"));
	assert_non_null(strstr(mtls_error(p.client), "DNS:localhost"));
	assert_string_equal(mtls_conn_alert_sent(p.client), "bad_certificate");
	pair_free(&p);
	mtls_config_free(scfg);
	mtls_config_free(ccfg);
}

/* A raw OpenSSL client limited to what the defaults refuse: TLS 1.1, or
 * TLS 1.2 without forward secrecy or without AEAD. */
static void
raw_client_refused(long max, const char *ciphers, const char *reason)
{
	struct mtls_config *scfg = server_config(0, NULL);
	struct mtls *s = mtls_server(), *conn = NULL;
	SSL_CTX *cctx = SSL_CTX_new(TLS_client_method());
	int fds[2];

	assert_int_equal(mtls_configure(s, scfg), 0);
	SSL_CTX_set_security_level(cctx, 0);
	SSL_CTX_set_min_proto_version(cctx, TLS1_VERSION);
	SSL_CTX_set_max_proto_version(cctx, max);
	assert_int_equal(SSL_CTX_set_cipher_list(cctx, ciphers), 1);
	SSL *c = SSL_new(cctx);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
	fcntl(fds[0], F_SETFL, O_NONBLOCK);
	fcntl(fds[1], F_SETFL, O_NONBLOCK);
	SSL_set_fd(c, fds[1]);
	SSL_set_connect_state(c);
	assert_int_equal(mtls_accept_socket(s, &conn, fds[0]), 0);
	int src = MTLS_WANT_POLLIN;
	for (int i = 0; i < 50 && src != -1 && src != 0; i++) {
		SSL_do_handshake(c);
		src = mtls_handshake(conn);
	}
	assert_int_equal(src, -1);
	if (strstr(mtls_error(conn), reason) == NULL)
		fail_msg("'%s' lacks '%s'", mtls_error(conn), reason);
	SSL_free(c);
	SSL_CTX_free(cctx);
	mtls_free(conn);
	mtls_free(s);
	close(fds[0]);
	close(fds[1]);
	mtls_config_free(scfg);
}

static void
test_security_defaults(void **state)
{
	(void)state;
	raw_client_refused(TLS1_1_VERSION, "ALL", "unsupported protocol");
	raw_client_refused(TLS1_2_VERSION, "AES128-GCM-SHA256",
	    "no shared cipher");
	raw_client_refused(TLS1_2_VERSION, "ECDHE-ECDSA-AES128-SHA256",
	    "no shared cipher");
	raw_client_refused(TLS1_2_VERSION, "ECDHE-ECDSA-AES128-SHA",
	    "no shared cipher");
}

/* The client enforces serverAuth: a client certificate presented by a
 * server is refused even when its name matches. */
static void
test_client_checks_server_purpose(void **state)
{
	(void)state;
	struct mtls_config *scfg = mtls_config_new();
	struct mtls_config *ccfg = client_config(NULL, NULL, 0);
	struct mtls_policy *pol = mtls_policy_new();
	struct mtls_error err;
	struct pair p = { 0 };

	assert_int_equal(mtls_config_set_cert_file(scfg, cli_crt), 0);
	assert_int_equal(mtls_config_set_key_file(scfg, cli_key, NULL), 0);
	assert_int_equal(mtls_config_set_ca_file(scfg, ca_crt), 0);
	assert_int_equal(mtls_policy_allow(pol, MTLS_ALLOW_ANY, NULL, &err), 0);
	assert_int_equal(mtls_config_set_policy(scfg, pol), 0);
	mtls_policy_free(pol);
	mtls_config_verify_client_optional(scfg);
	pair_run_as(&p, scfg, ccfg, "client.example.com");
	assert_int_equal(p.crc, -1);
	assert_non_null(strstr(mtls_conn_verify_problem(p.client),
	    "is not valid for server authentication"));
	assert_string_equal(mtls_conn_alert_sent(p.client),
	    "unsupported_certificate");
	pair_free(&p);
	mtls_config_free(scfg);
	mtls_config_free(ccfg);
}

/* The server sends two records, "hello, world" and "again", and the
 * client reads 5 bytes: the rest of the first record and the second one
 * (which came with the same read) then wait in the client's library. */
static void
two_records_read_part(struct pair *p)
{
	char buf[5];
	ssize_t n = MTLS_WANT_POLLIN;

	assert_int_equal(mtls_write(p->conn, "hello, world", 12), 12);
	assert_int_equal(mtls_write(p->conn, "again", 5), 5);
	for (int i = 0; i < 100 && n == MTLS_WANT_POLLIN; i++)
		n = mtls_read(p->client, buf, 5);
	assert_int_equal(n, 5);
	assert_memory_equal(buf, "hello", 5);
}

/* mtls_pending: bytes received and not yet returned are reported, so a
 * caller that polls reads them first (with read-ahead, the socket may be
 * empty while the library holds a whole record or more). */
static void
test_pending(void **state)
{
	struct mtls_config *scfg = server_config(0, NULL);
	struct mtls_config *ccfg = client_config(cli_crt, cli_key, 0);
	struct pair p = { 0 };
	char buf[16];

	(void)state;
	pair_run(&p, scfg, ccfg);
	assert_int_equal(p.crc, 0);
	exchange(&p);
	assert_false(mtls_pending(p.client));
	two_records_read_part(&p);
	assert_true(mtls_pending(p.client));
	assert_int_equal(mtls_read(p.client, buf, sizeof(buf)), 7);
	/* The second record came with the first read: it is pending. */
	assert_true(mtls_pending(p.client));
	assert_int_equal(mtls_read(p.client, buf, sizeof(buf)), 5);
	assert_false(mtls_pending(p.client));
	assert_false(mtls_pending(NULL));
	pair_free(&p);
	mtls_config_free(scfg);
	mtls_config_free(ccfg);
}

/* Record buffers kept between records are given back on request, and the
 * connection goes back to giving them back after each record; bytes that
 * wait in a buffer are still read, and both ends go on afterwards. */
static void
test_release_buffers(void **state)
{
	struct mtls_config *scfg = server_config(0, NULL);
	struct mtls_config *ccfg = client_config(cli_crt, cli_key, 0);
	struct pair p = { 0 };
	char buf[16];

	(void)state;
	pair_run(&p, scfg, ccfg);
	assert_int_equal(p.crc, 0);
	/* Not kept: OpenSSL gives them back itself, nothing to release. */
	assert_int_equal(mtls_release_buffers(p.conn), 0);
	mtls_keep_buffers(p.client);
	mtls_keep_buffers(p.conn);
	exchange(&p);
	assert_int_equal(mtls_release_buffers(p.conn), 1);
	assert_int_equal(mtls_release_buffers(p.conn), 0);
	/* The client's buffers are released while bytes wait in them. */
	two_records_read_part(&p);
	assert_int_equal(mtls_release_buffers(p.client), 1);
	assert_int_equal(mtls_read(p.client, buf, sizeof(buf)), 7);
	assert_memory_equal(buf, ", world", 7);
	assert_int_equal(mtls_read(p.client, buf, sizeof(buf)), 5);
	assert_memory_equal(buf, "again", 5);
	exchange(&p);
	mtls_keep_buffers(p.conn);
	exchange(&p);
	assert_int_equal(mtls_release_buffers(p.conn), 1);
	exchange(&p);
	assert_int_equal(mtls_release_buffers(NULL), 0);
	pair_free(&p);
	mtls_config_free(scfg);
	mtls_config_free(ccfg);
}

/* The server's session cache holds at most the size it was given: with
 * room for one session, a second client's session pushes the first
 * client's out, and the first makes a full handshake again; with the
 * default size both resume. */
static void
session_cache_size(size_t size, int want_resumed)
{
	struct mtls_config *scfg = server_config(MTLS_ALLOW_CN, "client");
	struct mtls_config *a = client_config(cli_crt, cli_key, 0);
	struct mtls_config *b = client_config(cli_crt, cli_key, 0);
	struct pair p = { 0 }, q = { 0 };

	if (size != 0)
		assert_int_equal(mtls_config_set_session_cache_size(scfg,
		    size), 0);
	pair_run(&p, scfg, a);
	assert_int_equal(p.src, 0);
	exchange(&p);
	pair_close_conn(&p);
	q.server = p.server; /* the same server context */
	pair_run(&q, scfg, b);
	assert_int_equal(q.src, 0);
	exchange(&q);
	pair_close_conn(&q);
	pair_run(&p, scfg, a);
	assert_int_equal(p.src, 0);
	assert_int_equal(mtls_conn_session_resumed(p.conn), want_resumed);
	exchange(&p);
	pair_close_conn(&p);
	mtls_free(q.client);
	pair_free(&p);
	mtls_config_free(scfg);
	mtls_config_free(a);
	mtls_config_free(b);
}

static void
test_session_cache_size(void **state)
{
	struct mtls_config *cfg = mtls_config_new();

	(void)state;
	session_cache_size(0, 1);
	/* OpenSSL 3.0 evicts the oldest session when a new one makes the
	 * count reach the size (it counts the new one first): a size of 3
	 * keeps two. */
	session_cache_size(3, 1);
	session_cache_size(1, 0);
	assert_int_equal(mtls_config_set_session_cache_size(cfg, 0), -1);
	assert_non_null(strstr(mtls_config_error(cfg), "session cache size"));
	mtls_config_free(cfg);
}

/* The client's verification cache: a chain verified once is accepted
 * again for the same name; the same chain for another name, another chain,
 * or an entry past its time is verified in full. */
static void
test_client_verify_cache(void **state)
{
	(void)state;
	struct mtls_config *scfg = server_config(0, NULL);
	struct mtls_config *scfg2 = mtls_config_new();
	struct mtls_config *ccfg = client_config(cli_crt, cli_key, 0);
	struct mtls_policy *pol = mtls_policy_new();
	struct mtls_error err;
	struct pair p = { 0 }, q = { 0 };

	assert_int_equal(mtls_config_set_cert_file(scfg2, sac_crt), 0);
	assert_int_equal(mtls_config_set_key_file(scfg2, sac_key, NULL), 0);
	assert_int_equal(mtls_config_set_ca_file(scfg2, ca_crt), 0);
	assert_int_equal(mtls_policy_allow(pol, MTLS_ALLOW_ANY, NULL, &err), 0);
	assert_int_equal(mtls_config_set_policy(scfg2, pol), 0);
	mtls_policy_free(pol);
	/* Full handshakes only: a resumed one verifies nothing. */
	mtls_config_disable_resumption(ccfg);
	assert_int_equal(mtls_config_set_verify_cache(ccfg, 4), 0);

	pair_run(&p, scfg, ccfg);
	assert_int_equal(p.crc, 0);
	assert_int_equal(p.src, 0);
	assert_int_equal(ccfg->nvcache, 1);
	assert_int_equal(ccfg->vcache_hits, 0);
	pair_close_conn(&p);
	pair_run(&p, scfg, ccfg);
	assert_int_equal(p.crc, 0);
	assert_int_equal(p.src, 0);
	assert_int_equal(ccfg->vcache_hits, 1);
	assert_string_equal(mtls_peer_cert_common_name(p.client), "localhost");
	pair_close_conn(&p);

	/* The same chain for a name it does not hold: refused. */
	pair_run_as(&p, scfg, ccfg, "wrong.example.com");
	assert_int_equal(p.crc, -1);
	assert_non_null(strstr(mtls_conn_verify_problem(p.client),
	    "does not match the name wrong.example.com"));
	assert_int_equal(ccfg->vcache_hits, 1);
	assert_int_equal(ccfg->nvcache, 1);
	pair_free(&p);

	/* Another chain: verified in full, then remembered too. */
	pair_run_as(&q, scfg2, ccfg, "server-only");
	assert_int_equal(q.crc, 0);
	assert_int_equal(ccfg->nvcache, 2);
	assert_int_equal(ccfg->vcache_hits, 1);
	pair_free(&q);

	/* Entries past their time are verified again. */
	memset(&p, 0, sizeof(p));
	for (size_t i = 0; i < ccfg->nvcache; i++)
		ccfg->vcache[i].until = time(NULL) - 1;
	pair_run(&p, scfg, ccfg);
	assert_int_equal(p.crc, 0);
	assert_int_equal(ccfg->vcache_hits, 1);
	assert_int_equal(ccfg->nvcache, 2);
	for (size_t i = 0; i < ccfg->nvcache; i++)
		if (ccfg->vcache[i].until > time(NULL))
			goto renewed;
	fail_msg("the re-verified chain was not remembered again");
renewed:
	pair_free(&p);
	mtls_config_free(scfg);
	mtls_config_free(scfg2);
	mtls_config_free(ccfg);
}

/* Optional client authentication: a client without a certificate gets in
 * (with no identity) only when an "any" rule admits it; otherwise it is
 * refused inside the handshake, with an alert.  A certificate, when sent,
 * is verified and authorized as usual. */
static void
anon_refused(int max, const char *alert)
{
	struct mtls_config *scfg = server_config(MTLS_ALLOW_CN, "client");
	struct mtls_config *anon = client_config(NULL, NULL, max);
	struct pair p = { 0 };

	mtls_config_verify_client_optional(scfg);
	pair_run(&p, scfg, anon);
	assert_int_equal(p.src, -1);
	assert_false(mtls_peer_cert_provided(p.conn));
	assert_string_equal(mtls_conn_reject_reason(p.conn),
	    "no client certificate, and no rule admits clients without one");
	assert_string_equal(mtls_conn_alert_sent(p.conn), alert);
	const char *got = p.crc == -1 ? mtls_conn_alert_received(p.client) :
	    client_alert_after_read(&p);
	assert_non_null(got);
	assert_string_equal(got, alert);
	pair_free(&p);
	mtls_config_free(scfg);
	mtls_config_free(anon);
}

static void
test_optional_client_auth(void **state)
{
	(void)state;
	struct mtls_config *scfg = server_config(MTLS_ALLOW_CN, "client");
	struct mtls_config *anon = client_config(NULL, NULL, 0);
	struct mtls_config *other = client_config(oc_crt, oc_key, 0);
	struct mtls_config *named = client_config(uri_crt, uri_key, 0);
	struct mtls_config *good = client_config(cli_crt, cli_key, 0);
	struct mtls_policy *pol;
	struct mtls_error err;
	struct pair p = { 0 };
	char why[128];

	anon_refused(MTLS_TLS1_3, "certificate_required");
	anon_refused(MTLS_TLS1_2, "handshake_failure");

	/* With an "any" rule, a client without a certificate gets in. */
	mtls_config_verify_client_optional(scfg);
	pol = mtls_policy_new();
	assert_int_equal(mtls_policy_allow(pol, MTLS_ALLOW_CN, "client",
	    &err), 0);
	assert_int_equal(mtls_policy_allow(pol, MTLS_ALLOW_ANY, NULL, &err),
	    0);
	assert_int_equal(mtls_config_set_policy(scfg, pol), 0);
	pair_run(&p, scfg, anon);
	assert_int_equal(p.src, 0);
	assert_false(mtls_peer_cert_provided(p.conn));
	assert_null(mtls_peer_cert_subject(p.conn));
	assert_int_equal(mtls_peer_san_count(p.conn), 0);
	assert_true(mtls_conn_cert_requested(p.client));
	assert_false(mtls_conn_cert_sent(p.client));
	assert_int_equal(mtls_policy_check(pol, p.conn, why, sizeof(why)), 1);
	mtls_policy_free(pol);
	exchange(&p);
	pair_close_conn(&p);

	/* The rules change: its session is not resumed without a rule
	 * admitting it. */
	pol = mtls_policy_new();
	assert_int_equal(mtls_policy_allow(pol, MTLS_ALLOW_CN, "client",
	    &err), 0);
	assert_int_equal(mtls_config_set_policy(scfg, pol), 0);
	pair_run(&p, scfg, anon);
	assert_int_equal(p.src, -1);
	assert_non_null(strstr(mtls_conn_reject_reason(p.conn),
	    "no rule admits clients without one"));
	assert_int_equal(mtls_policy_check(pol, p.conn, why, sizeof(why)), 0);
	assert_string_equal(why, "no client certificate, and no rule admits "
	    "clients without one");
	mtls_policy_free(pol);
	pair_free(&p);

	/* A client with an allowed certificate still gets in. */
	struct pair g = { 0 };
	pair_run(&g, scfg, good);
	assert_int_equal(g.src, 0);
	assert_true(mtls_peer_cert_provided(g.conn));
	pair_free(&g);

	struct pair q = { 0 };
	pair_run(&q, scfg, other);
	assert_int_equal(q.src, -1);
	assert_non_null(strstr(mtls_conn_reject_reason(q.conn), "unknown CA"));
	pair_free(&q);

	struct pair r = { 0 };
	pair_run(&r, scfg, named);
	assert_int_equal(r.src, -1);
	assert_non_null(strstr(mtls_conn_reject_reason(r.conn),
	    "no rule allows CN=web"));
	pair_free(&r);

	mtls_config_free(scfg);
	mtls_config_free(anon);
	mtls_config_free(other);
	mtls_config_free(named);
	mtls_config_free(good);
}

/* Non-blocking reads and writes: WANT_POLLIN with nothing to read, data,
 * 0 at close_notify, -1 at an end without close_notify. */
static void
test_io_semantics(void **state)
{
	(void)state;
	struct mtls_config *scfg = server_config(0, NULL);
	struct mtls_config *ccfg = client_config(cli_crt, cli_key, 0);
	struct pair p = { 0 };
	char buf[64];
	ssize_t n;

	pair_run(&p, scfg, ccfg);
	assert_int_equal(p.src, 0);
	exchange(&p);
	assert_int_equal(mtls_read(p.conn, buf, sizeof(buf)), MTLS_WANT_POLLIN);
	assert_int_equal(mtls_write(p.client, "", 0), 0);
	/* A large write goes out in part: partial writes are on. */
	static char big[256 * 1024];
	n = mtls_write(p.client, big, sizeof(big));
	assert_true(n > 0 && (size_t)n <= sizeof(big));
	size_t got = 0;
	for (int i = 0; i < 10000 && got < (size_t)n; i++) {
		ssize_t m = mtls_read(p.conn, big, 16384);
		if (m > 0)
			got += (size_t)m;
		else
			assert_int_equal(m, MTLS_WANT_POLLIN);
	}
	assert_int_equal(got, (size_t)n);
	/* close_notify: a clean end. */
	assert_int_equal(mtls_close(p.client), 0);
	assert_int_equal(mtls_read(p.conn, buf, sizeof(buf)), 0);
	pair_close_conn(&p);

	/* The peer's socket closes without close_notify. */
	pair_run(&p, scfg, ccfg);
	exchange(&p);
	shutdown(p.fds[1], SHUT_RDWR);
	n = mtls_read(p.conn, buf, sizeof(buf));
	assert_int_equal(n, -1);
	assert_non_null(strstr(mtls_error(p.conn), "without close_notify"));
	pair_free(&p);
	mtls_config_free(scfg);
	mtls_config_free(ccfg);
}

/* Adds an extension to x and signs it again with key. */
static void
add_ext_resign(X509 *x, X509 *issuer, EVP_PKEY *key, int nid,
    const char *value)
{
	X509V3_CTX v3;

	X509V3_set_ctx(&v3, issuer, x, NULL, NULL, 0);
	tg_ext(x, &v3, nid, value); /* aborts on a bad extension */
	assert_true(X509_sign(x, key, EVP_sha256()) > 0);
}

/* More names x constraints than OpenSSL checks (2^20) is its
 * X509_V_ERR_UNSPECIFIED: the words say what it is, for `mtls cert verify`
 * and the TLS peer check alike (they share x509_verify_words()). */
static void
test_verify_words_name_constraints(void **state)
{
	(void)state;
	struct tpki inter = tpki_make(&ca, "ncint", NULL, NULL, NULL, -60,
	    86400);
	struct tpki leaf = tpki_make(&inter, "manysans", NULL, "clientAuth",
	    NULL, -60, 86400);
	size_t cap = 1100 * 40, used = 0, used2 = 0;
	char *nc = malloc(cap), *sans = malloc(cap);

	assert_non_null(nc);
	assert_non_null(sans);
	for (int i = 0; i < 1100; i++) {
		used += (size_t)snprintf(nc + used, cap - used,
		    "%spermitted;DNS:n%d.example.com", i ? "," : "", i);
		used2 += (size_t)snprintf(sans + used2, cap - used2,
		    "%sDNS:h%d.n%d.example.com", i ? "," : "", i, i);
	}
	add_ext_resign(inter.cert, ca.cert, ca.key, NID_name_constraints, nc);
	add_ext_resign(leaf.cert, inter.cert, inter.key,
	    NID_subject_alt_name, sans);

	X509_STORE *store = X509_STORE_new();
	STACK_OF(X509) *untrusted = sk_X509_new_null();
	X509_STORE_CTX *x = X509_STORE_CTX_new();
	assert_int_equal(X509_STORE_add_cert(store, ca.cert), 1);
	assert_true(sk_X509_push(untrusted, inter.cert) > 0);
	assert_int_equal(X509_STORE_CTX_init(x, store, leaf.cert, untrusted),
	    1);
	assert_int_equal(X509_verify_cert(x), 0);
	assert_int_equal(X509_STORE_CTX_get_error(x), X509_V_ERR_UNSPECIFIED);
	assert_string_equal(x509_verify_words(x), "too many names to check "
	    "against the CA's name constraints");

	X509_STORE_CTX_free(x);
	sk_X509_free(untrusted);
	X509_STORE_free(store);
	free(nc);
	free(sans);
	tpki_free(&inter);
	tpki_free(&leaf);
}

struct accept_arg {
	struct mtls *server;
	int rc;
};

static void *
accept_thread(void *v)
{
	struct accept_arg *a = v;
	struct mtls *conn = NULL;
	int fds[2];

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0)
		return NULL;
	a->rc = mtls_accept_socket(a->server, &conn, fds[0]);
	mtls_free(conn);
	close(fds[0]);
	close(fds[1]);
	return NULL;
}

/* Threads accepting on one server context: a failed accept's reason is in
 * the connection object it returns, never in the shared server context
 * (nor in a thread-local that another call would clear), so another
 * thread's accept neither sees nor disturbs it. */
static void
test_accept_errors_per_thread(void **state)
{
	(void)state;
	struct mtls_config *scfg = server_config(0, NULL);
	struct mtls *s = mtls_server(), *conn = NULL;
	struct accept_arg a = { s, -1 };
	pthread_t t;

	assert_int_equal(mtls_configure(s, scfg), 0);
	assert_int_equal(mtls_accept_socket(s, &conn, -1), -1);
	assert_non_null(conn);
	assert_non_null(strstr(mtls_error(conn), "socket -1"));
	assert_null(mtls_error(s));
	assert_int_equal(pthread_create(&t, NULL, accept_thread, &a), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(a.rc, 0);
	/* Still this accept's reason after the other thread's success and
	 * a configure of the server. */
	assert_non_null(strstr(mtls_error(conn), "socket -1"));
	assert_int_equal(mtls_configure(s, scfg), 0);
	assert_non_null(strstr(mtls_error(conn), "socket -1"));
	assert_int_equal(mtls_handshake(conn), -1);
	mtls_free(conn);
	accept_thread(&a);
	assert_int_equal(a.rc, 0);
	assert_null(mtls_error(s));
	mtls_free(s);
	mtls_config_free(scfg);
}

static void
test_api_edges(void **state)
{
	(void)state;
	struct mtls_config *cfg = mtls_config_new();

	mtls_free(NULL);
	mtls_config_free(NULL);
	mtls_policy_free(NULL);
	assert_int_equal(mtls_config_set_protocols(cfg, 0x0301, 0), -1);
	assert_non_null(strstr(mtls_config_error(cfg), "1.2 and 1.3"));
	assert_int_equal(mtls_config_set_protocols(cfg, MTLS_TLS1_3,
	    MTLS_TLS1_2), -1);
	assert_int_equal(mtls_config_set_cert_file(cfg, "/nonexistent.crt"),
	    -1);
	assert_non_null(strstr(mtls_config_error(cfg), "/nonexistent.crt"));
	assert_int_equal(mtls_config_set_key_file(cfg, ca_crt, NULL), -1);
	assert_non_null(strstr(mtls_config_error(cfg), "no private key"));
	/* A server without a certificate cannot be configured. */
	struct mtls *s = mtls_server();
	assert_int_equal(mtls_configure(s, cfg), -1);
	assert_non_null(strstr(mtls_error(s), "certificate"));
	mtls_free(s);
	/* The key must match the certificate: refused when the second of
	 * the two is set, naming both files. */
	assert_int_equal(mtls_config_set_cert_file(cfg, srv_crt), 0);
	assert_int_equal(mtls_config_set_key_file(cfg, cli_key, NULL), -1);
	assert_non_null(strstr(mtls_config_error(cfg), cli_key));
	assert_non_null(strstr(mtls_config_error(cfg), "not the key of"));
	assert_non_null(strstr(mtls_config_error(cfg), srv_crt));
	assert_int_equal(mtls_config_set_ca_file(cfg, ca_crt), 0);
	/* A client needs a server name unless it skips the name check. */
	struct mtls_config *ccfg = client_config(NULL, NULL, 0);
	struct mtls *c = mtls_client();
	assert_int_equal(mtls_configure(c, ccfg), 0);
	assert_int_equal(mtls_connect_socket(c, 0, NULL), -1);
	assert_non_null(strstr(mtls_error(c), "server name"));
	mtls_free(c);
	mtls_config_free(ccfg);
	mtls_config_free(cfg);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_success_tls13),
		cmocka_unit_test(test_success_tls12),
		cmocka_unit_test(test_no_client_cert),
		cmocka_unit_test(test_other_ca),
		cmocka_unit_test(test_server_cert_as_client),
		cmocka_unit_test(test_expired_client),
		cmocka_unit_test(test_policy_deny),
		cmocka_unit_test(test_dns_rule_vs_uri_san),
		cmocka_unit_test(test_reject_codes),
		cmocka_unit_test(test_resumption_tls13),
		cmocka_unit_test(test_resumption_tls12),
		cmocka_unit_test(test_resumption_without_close),
		cmocka_unit_test(test_resumption_other_sni),
		cmocka_unit_test(test_resumption_concurrent),
		cmocka_unit_test(test_client_checks_server),
		cmocka_unit_test(test_optional_client_auth),
		cmocka_unit_test(test_security_defaults),
		cmocka_unit_test(test_io_semantics),
		cmocka_unit_test(test_client_checks_server_purpose),
		cmocka_unit_test(test_client_verify_cache),
		cmocka_unit_test(test_session_cache_size),
		cmocka_unit_test(test_pending),
		cmocka_unit_test(test_release_buffers),
		cmocka_unit_test(test_accept_errors_per_thread),
		cmocka_unit_test(test_verify_words_name_constraints),
		cmocka_unit_test(test_api_edges),
		cmocka_unit_test(test_reject_code_not_tls),
	};
	return cmocka_run_group_tests(tests, setup_all, teardown_all);
}
