/*
 * test_tls_crl.c - revocation on the server: root -> intermediate -> client,
 * CRLs from both CAs.  A revoked client is refused with certificate_revoked;
 * a CRL missing for a certificate of the chain, or an expired CRL, fails
 * closed; stateless tickets under a shared key file resume, and only under
 * the same key.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "mtls.h"
#include "certgen.h"

static char dir[256];
static struct tpki root, inter, srv, good, bad;
static char root_crt[300], root_key[300], inter_crt[300], inter_key[300];
static char srv_crt[300], srv_key[300], good_crt[300], good_key[300];
static char bad_crt[300], bad_key[300];
static char crl_ok[300], crl_missing[300], crl_expired[300];

static int
setup_all(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/mtls-crl-test.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	root = tpki_make(NULL, "Root", NULL, NULL, NULL, -3600, 86400);
	inter = tpki_make(&root, "Intermediate", NULL, NULL, NULL, -3600,
	    86400);
	srv = tpki_make(&root, "localhost", NULL, "serverAuth",
	    "DNS:localhost", -3600, 86400);
	good = tpki_make(&inter, "good", NULL, "clientAuth", NULL, -3600,
	    86400);
	bad = tpki_make(&inter, "bad", NULL, "clientAuth", NULL, -3600,
	    86400);
	tpki_write(dir, "root", &root, NULL, root_crt, root_key, 300);
	tpki_write(dir, "inter", &inter, NULL, inter_crt, inter_key, 300);
	tpki_write(dir, "srv", &srv, NULL, srv_crt, srv_key, 300);
	tpki_write(dir, "good", &good, &inter, good_crt, good_key, 300);
	tpki_write(dir, "bad", &bad, &inter, bad_crt, bad_key, 300);

	X509 *revoked[] = { bad.cert, NULL };
	snprintf(crl_ok, sizeof(crl_ok), "%s/ok.crl", dir);
	tpki_crl_append(crl_ok, &root, -60, 3600, NULL);
	tpki_crl_append(crl_ok, &inter, -60, 3600, revoked);
	/* Only the intermediate's CRL: nothing says whether the
	 * intermediate itself is revoked. */
	snprintf(crl_missing, sizeof(crl_missing), "%s/missing.crl", dir);
	tpki_crl_append(crl_missing, &inter, -60, 3600, revoked);
	snprintf(crl_expired, sizeof(crl_expired), "%s/expired.crl", dir);
	tpki_crl_append(crl_expired, &root, -60, 3600, NULL);
	tpki_crl_append(crl_expired, &inter, -7200, -3600, revoked);
	return 0;
}

static int
teardown_all(void **state)
{
	(void)state;
	char cmd[400];
	tpki_free(&root);
	tpki_free(&inter);
	tpki_free(&srv);
	tpki_free(&good);
	tpki_free(&bad);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static struct mtls_config *
server_config(const char *crl)
{
	struct mtls_config *cfg = mtls_config_new();
	struct mtls_policy *pol = mtls_policy_new();
	struct mtls_error err;

	assert_int_equal(mtls_config_set_cert_file(cfg, srv_crt), 0);
	assert_int_equal(mtls_config_set_key_file(cfg, srv_key, NULL), 0);
	assert_int_equal(mtls_config_set_ca_file(cfg, root_crt), 0);
	if (crl != NULL)
		assert_int_equal(mtls_config_set_crl_file(cfg, crl), 0);
	assert_int_equal(mtls_policy_allow(pol, MTLS_ALLOW_ANY, NULL, &err),
	    0);
	assert_int_equal(mtls_config_set_policy(cfg, pol), 0);
	mtls_policy_free(pol);
	return cfg;
}

static struct mtls_config *
client_config(const char *crt, const char *key, int max)
{
	struct mtls_config *cfg = mtls_config_new();

	assert_int_equal(mtls_config_set_cert_file(cfg, crt), 0);
	assert_int_equal(mtls_config_set_key_file(cfg, key, NULL), 0);
	assert_int_equal(mtls_config_set_ca_file(cfg, root_crt), 0);
	assert_int_equal(mtls_config_set_protocols(cfg, 0, max), 0);
	return cfg;
}

/* One handshake over a socketpair; returns the server's result, the
 * server connection in *conn (caller frees) and the client in *cli. */
static int
handshake(struct mtls *server, struct mtls *client, struct mtls **conn,
    int fds[2])
{
	int crc = 1, src = 1;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
	fcntl(fds[0], F_SETFL, O_NONBLOCK);
	fcntl(fds[1], F_SETFL, O_NONBLOCK);
	assert_int_equal(mtls_accept_socket(server, conn, fds[0]), 0);
	assert_int_equal(mtls_connect_socket(client, fds[1], "localhost"), 0);
	for (int i = 0; i < 1000 && (crc > 0 || crc < -1 || src > 0 ||
	    src < -1); i++) {
		if (crc != 0 && crc != -1)
			crc = mtls_handshake(client);
		if (src != 0 && src != -1)
			src = mtls_handshake(*conn);
	}
	if (src == 0 && crc == 0) {
		/* Let the client read the tickets. */
		char b[4];
		assert_int_equal(mtls_write(*conn, "x", 1), 1);
		ssize_t n = MTLS_WANT_POLLIN;
		for (int i = 0; i < 100 && n == MTLS_WANT_POLLIN; i++)
			n = mtls_read(client, b, sizeof(b));
		assert_int_equal(n, 1);
	}
	return src;
}

static void
expect(const char *crl, const char *crt, const char *key, const char *reason,
    const char *alert)
{
	struct mtls_config *scfg = server_config(crl);
	struct mtls_config *ccfg = client_config(crt, key, 0);
	struct mtls *s = mtls_server(), *c = mtls_client(), *conn = NULL;
	int fds[2];

	assert_int_equal(mtls_configure(s, scfg), 0);
	assert_int_equal(mtls_configure(c, ccfg), 0);
	int rc = handshake(s, c, &conn, fds);
	if (reason == NULL) {
		if (rc != 0)
			fail_msg("refused: %s", mtls_error(conn));
		assert_true(mtls_peer_cert_provided(conn));
	} else {
		assert_int_equal(rc, -1);
		const char *why = mtls_conn_reject_reason(conn);
		assert_non_null(why);
		if (strstr(why, reason) == NULL)
			fail_msg("reason '%s' lacks '%s'", why, reason);
		assert_string_equal(mtls_conn_alert_sent(conn), alert);
	}
	mtls_free(conn);
	mtls_free(c);
	mtls_free(s);
	close(fds[0]);
	close(fds[1]);
	mtls_config_free(scfg);
	mtls_config_free(ccfg);
}

static void
test_chain_without_crl(void **state)
{
	(void)state;
	expect(NULL, good_crt, good_key, NULL, NULL);
	expect(NULL, bad_crt, bad_key, NULL, NULL);
}

static void
test_crl_good_and_revoked(void **state)
{
	(void)state;
	expect(crl_ok, good_crt, good_key, NULL, NULL);
	expect(crl_ok, bad_crt, bad_key, "certificate revoked (CN=bad, serial",
	    "certificate_revoked");
}

static void
test_crl_missing_fails_closed(void **state)
{
	(void)state;
	expect(crl_missing, good_crt, good_key,
	    "CRL for CN=Root is missing (needed to check CN=Intermediate)",
	    "unknown_ca");
}

static void
test_crl_expired_fails_closed(void **state)
{
	(void)state;
	expect(crl_expired, good_crt, good_key,
	    "CRL of CN=Intermediate has expired", "certificate_expired");
}

/* Stateless tickets under a shared key file: a second server with the
 * same keys and the same trust resumes the session of the first. */
static void
test_ticket_keys(void **state)
{
	(void)state;
	char keyfile[300], otherkeys[300];
	unsigned char keys[160];
	struct mtls_config *s1 = server_config(crl_ok);
	struct mtls_config *s2 = server_config(crl_ok);
	struct mtls_config *s3 = server_config(crl_ok);
	struct mtls_config *ccfg = client_config(good_crt, good_key,
	    MTLS_TLS1_3);
	struct mtls *a = mtls_server(), *b = mtls_server(), *d = mtls_server();
	struct mtls *c = mtls_client(), *conn = NULL;
	int fds[2];

	for (size_t i = 0; i < sizeof(keys); i++)
		keys[i] = (unsigned char)(i * 7 + 3);
	snprintf(keyfile, sizeof(keyfile), "%s/tickets.key", dir);
	FILE *f = fopen(keyfile, "w");
	fwrite(keys, 1, 160, f);
	fclose(f);
	keys[0] ^= 1; /* another key name */
	snprintf(otherkeys, sizeof(otherkeys), "%s/other.key", dir);
	f = fopen(otherkeys, "w");
	fwrite(keys, 1, 80, f);
	fclose(f);

	assert_int_equal(mtls_config_set_ticket_key_file(s1, keyfile), 0);
	assert_int_equal(mtls_config_set_ticket_key_file(s2, keyfile), 0);
	assert_int_equal(mtls_config_set_ticket_key_file(s3, otherkeys), 0);
	assert_int_equal(mtls_config_set_ticket_key_file(ccfg, root_crt), -1);
	assert_non_null(strstr(mtls_config_error(ccfg), "80 bytes per key"));
	assert_int_equal(mtls_configure(a, s1), 0);
	assert_int_equal(mtls_configure(b, s2), 0);
	assert_int_equal(mtls_configure(d, s3), 0);
	assert_int_equal(mtls_configure(c, ccfg), 0);

	assert_int_equal(handshake(a, c, &conn, fds), 0);
	assert_false(mtls_conn_session_resumed(conn));
	/* A session is resumable only after a clean close (RFC 5246 7.2.1,
	 * which OpenSSL applies to every version). */
	assert_int_equal(mtls_close(c), 0);
	mtls_free(conn);
	close(fds[0]);
	close(fds[1]);
	assert_int_equal(handshake(b, c, &conn, fds), 0);
	assert_true(mtls_conn_session_resumed(conn));
	assert_string_equal(mtls_peer_cert_common_name(conn), "good");
	assert_int_equal(mtls_close(c), 0);
	mtls_free(conn);
	close(fds[0]);
	close(fds[1]);
	assert_int_equal(handshake(d, c, &conn, fds), 0);
	assert_false(mtls_conn_session_resumed(conn));
	mtls_free(conn);
	close(fds[0]);
	close(fds[1]);

	mtls_free(a);
	mtls_free(b);
	mtls_free(d);
	mtls_free(c);
	mtls_config_free(s1);
	mtls_config_free(s2);
	mtls_config_free(s3);
	mtls_config_free(ccfg);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_chain_without_crl),
		cmocka_unit_test(test_crl_good_and_revoked),
		cmocka_unit_test(test_crl_missing_fails_closed),
		cmocka_unit_test(test_crl_expired_fails_closed),
		cmocka_unit_test(test_ticket_keys),
	};
	return cmocka_run_group_tests(tests, setup_all, teardown_all);
}
