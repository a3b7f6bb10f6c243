/*
 * doctor_remote.c - the remote checks of the diagnosis, in the order a
 * connection fails: the name, TCP, TLS at all, the handshake, the server's
 * certificate, the client-certificate request and the CA names in it, and
 * the server's verdict on our certificate (in TLS 1.3 an alert that arrives
 * after the handshake, or an HTTP 400 from nginx).
 *
 * The connection is made with the library's own TLS client, with the
 * server's certificate unchecked (insecure_noverifycert), so that a bad
 * server chain is reported as a finding instead of ending the diagnosis;
 * the chain is then checked here, like a local one.
 */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>

#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "core/reason.h"
#include "x509/text.h"
#include "tools/mtls_tools.h"
#include "doctor/doctor.h"

#define DEFAULT_TIMEOUT_MS 5000
/* After the handshake: how long to wait for the server's verdict on our
 * certificate (TLS 1.3 sends it after our Finished, one round trip later)
 * or its HTTP answer: a few round trips, within these bounds. */
#define VERDICT_MIN_MS 250
#define VERDICT_MAX_MS 2000
/* Kept out of the TCP and TLS deadline for a plaintext probe of a port
 * that did not answer TLS, so that the whole run stays in the timeout. */
#define PROBE_MAX_MS 1000

/* Copies text into out, with each %1 replaced by fill. */
static void
fill_slot(char *out, size_t len, const char *text, const char *fill)
{
	const char *p = strstr(text, "%1");

	if (p != NULL)
		snprintf(out, len, "%.*s%s%s", (int)(p - text), text, fill,
		    p + 2);
	else
		snprintf(out, len, "%s", text);
}

int
mtls_alert_explain(const char *alert, const char *issuer, char *cause,
    size_t clen, char *fix, size_t flen)
{
	const char *c, *f;

	if (reason_from_alert(alert, NULL, &c, &f) != 0 || c == NULL)
		return -1;
	fill_slot(cause, clen, c, issuer != NULL ? issuer : "its issuer");
	fill_slot(fix, flen, f, issuer != NULL ? issuer : "its issuer");
	return 0;
}

/*
 * How an HTTP server refuses a client certificate that TLS let through:
 * nginx with ssl_verify_client on finishes the handshake and answers 400
 * with a body naming the problem (internally 495 and 496).  resp is the
 * start of the answer.  Returns the refusal in words, or NULL.
 */
const char *
mtls_http_cert_refusal(const char *resp, size_t len)
{
	if (len < 12 || strncmp(resp, "HTTP/1.", 7) != 0)
		return NULL;
	int status = atoi(resp + 9);
	if (memmem(resp, len, "No required SSL certificate was sent", 36))
		return "HTTP 400 \"No required SSL certificate was sent\" "
		    "(nginx 496: no client certificate)";
	if (memmem(resp, len, "The SSL certificate error", 25))
		return "HTTP 400 \"The SSL certificate error\" (nginx 495: "
		    "the client certificate did not verify)";
	if (status == 495)
		return "HTTP 495 (SSL certificate error)";
	if (status == 496)
		return "HTTP 496 (SSL certificate required)";
	return NULL;
}

struct remote {
	struct mtls_doctor *d;
	struct doctor_state *st;
	char host[256];
	char port[32];
	const char *target;       /* "HOST:PORT" as given */
	const char *servername;
	char addr[INET6_ADDRSTRLEN + 8];
	struct timespec deadline;   /* of the step under way */
	struct timespec end;        /* of the whole remote diagnosis */
	int timeout_ms;
	int connect_ms;             /* the deadline of TCP + TLS */
	int rtt_ms;                 /* how long the TCP connect took */
	int ticket;                 /* a TLS 1.3 NewSessionTicket arrived */
};

/* Splits "host:port", "[v6]:port" (the one parser); -1 when malformed. */
static int
split_hostport(const char *s, char *host, size_t hl, char *port, size_t pl)
{
	char why[512];
	unsigned p;

	if (mtls_hostport_parse(s, 0, host, hl, &p, why, sizeof(why)) == -1)
		return -1;
	snprintf(port, pl, "%u", p);
	return 0;
}

int
doctor_parse_target(const char *s)
{
	char host[256], port[32];

	return split_hostport(s, host, sizeof(host), port, sizeof(port));
}

static void
addr_text(const struct addrinfo *ai, char *buf, size_t len)
{
	char h[INET6_ADDRSTRLEN] = "?", p[16] = "?";

	getnameinfo(ai->ai_addr, ai->ai_addrlen, h, sizeof(h), p, sizeof(p),
	    NI_NUMERICHOST | NI_NUMERICSERV);
	snprintf(buf, len, ai->ai_family == AF_INET6 ? "[%s]:%s" : "%s:%s",
	    h, p);
}

/* Resolves and connects; adds the DNS/TCP findings.  Returns the socket
 * or -1. */
static int
tcp_connect(struct remote *r)
{
	struct addrinfo hints, *res = NULL;
	int fd = -1, why = 0, gai;
	char dur[32];

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_ADDRCONFIG;
	if ((gai = getaddrinfo(r->host, r->port, &hints, &res)) != 0) {
		doctor_add(r->d, DR_DNS_FAILED, r->target, r->host,
		    gai == EAI_SYSTEM ? strerror(errno) : gai_strerror(gai),
		    NULL);
		return -1;
	}
	for (struct addrinfo *ai = res; ai != NULL && fd == -1;
	    ai = ai->ai_next) {
		int before = mtls_deadline_ms_left(&r->deadline);
		addr_text(ai, r->addr, sizeof(r->addr));
		fd = mtls_connect_before(ai, &r->deadline, &why);
		r->rtt_ms = before - mtls_deadline_ms_left(&r->deadline);
		if (why == ETIMEDOUT)
			break;
	}
	freeaddrinfo(res);
	if (fd != -1) {
		doctor_add(r->d, DR_OK_TCP, r->target, r->target, r->addr,
		    NULL);
		return fd;
	}
	snprintf(dur, sizeof(dur), "%d.%d s", r->connect_ms / 1000,
	    (r->connect_ms % 1000) / 100);
	if (why == ECONNREFUSED)
		doctor_add(r->d, DR_TCP_REFUSED, r->target, r->target, NULL);
	else if (why == ETIMEDOUT)
		doctor_add(r->d, DR_TCP_TIMEOUT, r->target, r->target, dur,
		    NULL);
	else
		doctor_add(r->d, DR_TCP_UNREACHABLE, r->target, r->target,
		    strerror(why), NULL);
	return -1;
}

/* ------------------------------------------------------------------ */
/* A port that does not answer TLS                                    */
/* ------------------------------------------------------------------ */

/* Copies the printable start of buf, as a quoted excerpt. */
static void
excerpt(const unsigned char *buf, size_t n, char *out, size_t len)
{
	size_t o = 0;

	if (len < 4)
		return;
	out[o++] = '"';
	for (size_t i = 0; i < n && o + 2 < len && buf[i] != '\r' &&
	    buf[i] != '\n'; i++)
		out[o++] = buf[i] >= 0x20 && buf[i] < 0x7f ? (char)buf[i] : '.';
	out[o++] = '"';
	out[o] = '\0';
}

/*
 * After a handshake that failed without an alert: connects again and looks
 * at what the port says in plain text: a banner (SSH, SMTP) or, asked for
 * it, an HTTP status line.  Returns 1 and fills what when it is not TLS.
 */
static int
probe_plaintext(struct remote *r, char *what, size_t len)
{
	static const char req[] = "HEAD / HTTP/1.0\r\n\r\n";
	struct remote p = *r;
	unsigned char buf[256];
	struct addrinfo hints, *res = NULL;
	ssize_t n = 0;
	int fd = -1, why = 0, sent = 0;
	char ex[128];

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	int budget = mtls_deadline_ms_left(&r->end);
	if (budget < 100 || getaddrinfo(r->host, r->port, &hints, &res) != 0)
		return 0;
	mtls_deadline_in(&p.deadline, budget / 3);
	for (struct addrinfo *ai = res; ai != NULL && fd == -1;
	    ai = ai->ai_next)
		fd = mtls_connect_before(ai, &p.deadline, &why);
	freeaddrinfo(res);
	if (fd == -1)
		return 0;
	/* Servers that speak first (SSH, SMTP, FTP) do so at once. */
	for (;;) {
		if (!mtls_wait_fd(fd, POLLIN, &p.deadline)) {
			if (sent)
				break;
			if (send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL) < 0)
				break;
			sent = 1;
			p.deadline = r->end;
			continue;
		}
		n = read(fd, buf, sizeof(buf));
		break;
	}
	close(fd);
	if (n <= 0)
		return 0;
	/* A TLS record (alert 21, handshake 22) means it is TLS after all. */
	if ((buf[0] == 21 || buf[0] == 22) && n > 1 && buf[1] == 3)
		return 0;
	excerpt(buf, (size_t)n, ex, sizeof(ex));
	if (n >= 5 && memcmp(buf, "HTTP/", 5) == 0)
		snprintf(what, len, "plain HTTP (%s)", ex);
	else if (n >= 4 && memcmp(buf, "SSH-", 4) == 0)
		snprintf(what, len, "an SSH banner (%s)", ex);
	else
		snprintf(what, len, "plain text %s", ex);
	return 1;
}

/* ------------------------------------------------------------------ */
/* The handshake and the verdict                                      */
/* ------------------------------------------------------------------ */

/* The issuer names of our certificate's chain, in the format of
 * mtls_conn_ca_name(), for comparison with the server's list. */
static int
our_issuer_listed(struct mtls *tls, X509 *leaf, STACK_OF(X509) *pool)
{
	char want[512], got[512];
	X509 *cur = leaf;

	for (int depth = 0; cur != NULL && depth < 10; depth++) {
		char *line = x509_name_line(X509_get_issuer_name(cur));
		if (line == NULL)
			return 0;
		snprintf(want, sizeof(want), "%s", line);
		free(line);
		for (size_t i = 0; i < mtls_conn_ca_name_count(tls); i++)
			if (mtls_conn_ca_name(tls, i, got, sizeof(got)) !=
			    NULL && strcmp(got, want) == 0)
				return 1;
		/* Up the chain: a server may list the root only. */
		X509 *next = NULL;
		for (int i = 0; pool != NULL && i < sk_X509_num(pool); i++) {
			X509 *c = sk_X509_value(pool, i);
			if (X509_cmp(c, cur) != 0 &&
			    X509_check_issued(c, cur) == X509_V_OK)
				next = c;
		}
		/* A root's issuer is itself, whose name was just tried. */
		if (next == NULL || X509_check_issued(next, next) == X509_V_OK)
			break;
		cur = next;
	}
	ERR_clear_error();
	return 0;
}

static const char *
alert_name(struct mtls *tls)
{
	const char *a = mtls_conn_alert_received(tls);

	return a != NULL ? a : "none";
}

/* The server wanted a certificate and we sent none: none was given, or
 * the one given could not be used (already reported). */
static void
report_missing(struct remote *r, const char *why)
{
	if (r->st->opt->cert_file != NULL)
		doctor_add(r->d, DR_CLIENT_CERT_UNUSABLE, r->target,
		    r->target, r->st->opt->cert_file, why, NULL);
	else
		doctor_add(r->d, DR_CLIENT_CERT_MISSING, r->target, r->target,
		    why, NULL);
}

/* nginx's ssl_verify_depth (OpenSSL's verify depth) bounds the number of
 * intermediate CAs between a client's certificate and the root; nginx's
 * default is 1.  A note for the fix when our chain has any. */
static const char *
depth_note(const struct doctor_state *st, char *buf, size_t len)
{
	X509 *cur = st->leaf, *up;
	STACK_OF(X509) *pool = sk_X509_new_null();
	int n = 0;

	if (cur == NULL || pool == NULL) {
		sk_X509_free(pool);
		return "";
	}
	for (int i = 0; st->certs != NULL && i < sk_X509_num(st->certs); i++)
		sk_X509_push(pool, sk_X509_value(st->certs, i));
	for (int i = 0; st->cas != NULL && i < sk_X509_num(st->cas); i++)
		sk_X509_push(pool, sk_X509_value(st->cas, i));
	while (n < 10 && (up = find_issuer(cur, pool)) != NULL &&
	    X509_NAME_cmp(X509_get_subject_name(up),
	    X509_get_issuer_name(up)) != 0) {
		n++;
		cur = up;
	}
	sk_X509_free(pool);
	if (n == 0)
		return "";
	snprintf(buf, len, "  Your chain has %d intermediate CA%s below the "
	    "root: nginx refuses it when ssl_verify_depth is below %d (its "
	    "default is 1).", n, n == 1 ? "" : "s", n);
	return buf;
}

/* A client-certificate verdict from an alert, as a finding. */
static void
report_rejection(struct remote *r, struct mtls *tls, const char *alert)
{
	char leafname[256] = "(none)", issuer[256] = "its CA";
	char cause_buf[512], fix_buf[512];

	if (r->st->leaf != NULL) {
		doctor_cert_name(r->st->leaf, leafname, sizeof(leafname));
		doctor_name_line(X509_get_issuer_name(r->st->leaf), issuer,
		    sizeof(issuer));
	}
	if (!mtls_conn_cert_sent(tls) &&
	    (strcmp(alert, "certificate_required") == 0 ||
	    strcmp(alert, "handshake_failure") == 0 ||
	    strcmp(alert, "bad_certificate") == 0)) {
		char why[128];
		snprintf(why, sizeof(why), "the server sent %s", alert);
		report_missing(r, why);
		return;
	}
	if (mtls_alert_explain(alert, issuer, cause_buf, sizeof(cause_buf),
	    fix_buf, sizeof(fix_buf)) == -1) {
		snprintf(cause_buf, sizeof(cause_buf), "the server gave no "
		    "more precise reason");
		snprintf(fix_buf, sizeof(fix_buf), "Look at the server's log "
		    "for the reason.");
	}
	doctor_add(r->d, DR_CLIENT_CERT_REJECTED, r->target, r->target,
	    leafname, alert, cause_buf, fix_buf, NULL);
}

/* A handshake that failed: which finding explains it? */
static void
report_handshake_failure(struct remote *r, struct mtls *tls, int timed_out)
{
	const char *alert = mtls_conn_alert_received(tls);
	const char *err = mtls_error(tls);
	char what[256];

	if (err == NULL)
		err = "the handshake failed";
	if (alert != NULL) {
		if (strcmp(alert, "protocol_version") == 0) {
			doctor_add(r->d, DR_TLS_VERSION, r->target, r->target,
			    err, NULL);
		} else if (mtls_conn_cert_requested(tls) ||
		    mtls_conn_cert_sent(tls)) {
			report_rejection(r, tls, alert);
		} else if (strcmp(alert, "handshake_failure") == 0 ||
		    strcmp(alert, "insufficient_security") == 0) {
			doctor_add(r->d, DR_TLS_NO_SHARED_CIPHER, r->target,
			    r->target, err, NULL);
		} else {
			doctor_add(r->d, DR_TLS_HANDSHAKE_FAILED, r->target,
			    r->target, err, NULL);
		}
		return;
	}
	if (strstr(err, "unsupported protocol") != NULL ||
	    strstr(err, "no protocols available") != NULL ||
	    strstr(err, "protocol version") != NULL) {
		doctor_add(r->d, DR_TLS_VERSION, r->target, r->target, err,
		    NULL);
		return;
	}
	if (probe_plaintext(r, what, sizeof(what))) {
		doctor_add(r->d, DR_TLS_NOT_TLS, r->target, r->target, what,
		    NULL);
		return;
	}
	if (timed_out) {
		char dur[32];
		snprintf(dur, sizeof(dur), "%d.%d s", r->connect_ms / 1000,
		    (r->connect_ms % 1000) / 100);
		doctor_add(r->d, DR_TLS_TIMEOUT, r->target, r->target, dur,
		    NULL);
	} else if (strstr(err, "closed") != NULL) {
		doctor_add(r->d, DR_TLS_CLOSED, r->target, r->target,
		    r->servername != NULL ? r->servername : "(none)", NULL);
	} else {
		doctor_add(r->d, DR_TLS_HANDSHAKE_FAILED, r->target, r->target,
		    err, NULL);
	}
}

/* Runs the handshake on fd until done or the deadline.  Returns 0 done,
 * -1 failed, -2 timed out. */
static int
handshake(struct remote *r, struct mtls *tls, int fd)
{
	for (;;) {
		int h = mtls_handshake(tls);
		if (h == 0)
			return 0;
		if (h != MTLS_WANT_POLLIN && h != MTLS_WANT_POLLOUT)
			return -1;
		if (!mtls_wait_fd(fd, h == MTLS_WANT_POLLIN ? POLLIN :
		    POLLOUT, &r->deadline))
			return -2;
	}
}

/* The server's certificate, as it sent it, checked like a local one. */
static void
check_server_cert(struct remote *r, struct mtls *tls)
{
	const char *pem;
	size_t len = 0, before;
	struct mtls_cert *cert;
	struct mtls_error err;
	char subject[300], leafname[256];
	const char *cafile = r->st->opt->ca_file != NULL ?
	    r->st->opt->ca_file : "the system CA store";

	snprintf(subject, sizeof(subject), "%s (server certificate)",
	    r->target);
	if ((pem = mtls_peer_cert_chain_pem(tls, &len)) == NULL || len == 0)
		return;
	err_clear(&err);
	if ((cert = mtls_cert_load_mem(pem, len, subject, &err)) == NULL)
		return;
	before = mtls_doctor_count_severity(r->d, MTLS_SEVERITY_ERROR);
	doctor_check_leaf(r->d, r->st, cert->certs, subject,
	    MTLS_PURPOSE_SERVER, r->servername, 1);
	if (mtls_doctor_count_severity(r->d, MTLS_SEVERITY_ERROR) == before)
		doctor_add(r->d, DR_OK_SERVER_CERT, subject,
		    doctor_cert_name(sk_X509_value(cert->certs, 0), leafname,
		    sizeof(leafname)), cafile, r->servername, NULL);
	mtls_cert_free(cert);
}

/* The CertificateRequest: asked at all, and for which CAs? */
static void
check_client_auth(struct remote *r, struct mtls *tls)
{
	char names[1024] = "", one[512], issuer[256];
	size_t used = 0, n = mtls_conn_ca_name_count(tls);

	if (!mtls_conn_cert_requested(tls)) {
		doctor_add(r->d, DR_SERVER_NO_CLIENT_AUTH, r->target, r->target,
		    NULL);
		return;
	}
	for (size_t i = 0; i < n && used < sizeof(names); i++) {
		if (mtls_conn_ca_name(tls, i, one, sizeof(one)) == NULL)
			continue;
		int w = snprintf(names + used, sizeof(names) - used, "%s%s",
		    used > 0 ? "; " : "", one);
		if (w < 0)
			break;
		used += (size_t)w;
	}
	if (n == 0)
		snprintf(names, sizeof(names), "any; the server lists none");
	doctor_add(r->d, DR_OK_CLIENT_AUTH_REQUESTED, r->target, r->target,
	    names, NULL);
	if (n > 0 && r->st->leaf != NULL) {
		STACK_OF(X509) *pool = sk_X509_new_null();
		for (int i = 0; pool != NULL && r->st->certs != NULL &&
		    i < sk_X509_num(r->st->certs); i++)
			sk_X509_push(pool, sk_X509_value(r->st->certs, i));
		for (int i = 0; pool != NULL && r->st->cas != NULL &&
		    i < sk_X509_num(r->st->cas); i++)
			sk_X509_push(pool, sk_X509_value(r->st->cas, i));
		if (!our_issuer_listed(tls, r->st->leaf, pool))
			doctor_add(r->d, DR_CLIENT_CA_NOT_ACCEPTED, r->target,
			    r->target, names, doctor_name_line(
			    X509_get_issuer_name(r->st->leaf), issuer,
			    sizeof(issuer)), NULL);
		sk_X509_free(pool);
	}
}

/* What a read after the handshake ended with. */
enum read_end {
	READ_TIMEOUT,               /* the deadline passed */
	READ_TICKET,                /* a NewSessionTicket arrived */
	READ_HEAD,                  /* an HTTP head (and what followed) */
	READ_CLOSED,                /* the server closed the connection */
	READ_FAILED,                /* an alert or an error */
};

/*
 * Reads into buf (NUL-terminated, *got bytes so far) until the deadline of
 * v, a ticket (when stop_at_ticket), the end of an HTTP head, a close or a
 * failure.
 */
static enum read_end
read_until(struct remote *v, struct mtls *tls, int fd, int stop_at_ticket,
    char *buf, size_t size, size_t *got)
{
	while (*got + 1 < size) {
		ssize_t n = mtls_read(tls, buf + *got, size - 1 - *got);
		if (n > 0) {
			*got += (size_t)n;
			buf[*got] = '\0';
			if (strstr(buf, "\r\n\r\n") != NULL)
				return READ_HEAD;
			continue;
		}
		if (n == 0)
			return READ_CLOSED;
		if (n != MTLS_WANT_POLLIN && n != MTLS_WANT_POLLOUT)
			return READ_FAILED;
		if (stop_at_ticket && v->ticket)
			return READ_TICKET;
		if (!mtls_wait_fd(fd, n == MTLS_WANT_POLLIN ? POLLIN :
		    POLLOUT, &v->deadline))
			return READ_TIMEOUT;
	}
	return READ_HEAD;
}

/*
 * After the handshake, the server's verdict on our certificate.  In TLS 1.3
 * it comes after our Finished: an alert, or tickets, which a server sends
 * only once it has accepted the handshake.  So: read first, for a few
 * round trips; then send one HTTP request and read the answer, which is
 * how nginx refuses a certificate (400 "No required SSL certificate was
 * sent" / "The SSL certificate error", its internal 496 / 495).  Reading
 * before writing also keeps an alert from being lost to the reset that a
 * write to a closed connection provokes.
 */
static void
check_verdict(struct remote *r, struct mtls *tls, int fd)
{
	char req[512], leafname[256] = "(none)";
	char buf[2048];
	size_t got = 0, off = 0, reqlen;
	struct remote v = *r;
	int grace = 4 * r->rtt_ms + VERDICT_MIN_MS;
	int total = mtls_deadline_ms_left(&r->end) < VERDICT_MAX_MS ?
	    mtls_deadline_ms_left(&r->end) : VERDICT_MAX_MS;
	enum read_end end;

	buf[0] = '\0';
	v.ticket = r->ticket;
	mtls_deadline_in(&v.deadline, grace < total ? grace : total);
	end = read_until(&v, tls, fd, 1, buf, sizeof(buf), &got);
	r->ticket = v.ticket;
	if (end == READ_TIMEOUT || end == READ_TICKET) {
		snprintf(req, sizeof(req), "GET / HTTP/1.1\r\nHost: %s\r\n"
		    "User-Agent: mtls-doctor/%s\r\nConnection: close\r\n\r\n",
		    r->servername != NULL ? r->servername : r->host,
		    MTLS_VERSION_STRING);
		reqlen = strlen(req);
		/* After tickets, an HTTP server answers within a few round
		 * trips; without them, give a slow verdict the time left. */
		mtls_deadline_in(&v.deadline, r->ticket && grace < total ?
		    grace : total);
		while (off < reqlen) {
			ssize_t w = mtls_write(tls, req + off, reqlen - off);
			if (w > 0)
				off += (size_t)w;
			else if ((w != MTLS_WANT_POLLIN &&
			    w != MTLS_WANT_POLLOUT) || !mtls_wait_fd(fd,
			    w == MTLS_WANT_POLLIN ? POLLIN : POLLOUT,
			    &v.deadline))
				break;
		}
		if (off == reqlen)
			end = read_until(&v, tls, fd, 0, buf, sizeof(buf),
			    &got);
		else
			end = READ_FAILED;
	}
	if (end == READ_HEAD) {
		/* The body, where nginx says why, follows at once. */
		mtls_deadline_in(&v.deadline, grace);
		(void)read_until(&v, tls, fd, 0, buf, sizeof(buf), &got);
	}

	if (mtls_conn_alert_received(tls) != NULL &&
	    strcmp(mtls_conn_alert_received(tls), "close_notify") != 0) {
		report_rejection(r, tls, alert_name(tls));
		return;
	}
	const char *why = mtls_http_cert_refusal(buf, got);
	char note[256];
	if (why != NULL) {
		if (mtls_conn_cert_sent(tls))
			doctor_add(r->d, DR_HTTP_CLIENT_CERT_REFUSED, r->target,
			    r->target, why, depth_note(r->st, note,
			    sizeof(note)), NULL);
		else
			report_missing(r, why);
		return;
	}
	/* A connection cut without an alert tells nothing either way. */
	if (end == READ_FAILED)
		return;
	if (mtls_conn_cert_sent(tls) && r->st->leaf != NULL)
		doctor_add(r->d, DR_OK_CLIENT_CERT_ACCEPTED, r->target,
		    r->target, doctor_cert_name(r->st->leaf, leafname,
		    sizeof(leafname)), NULL);
}

/* The handshake trace, read only for the NewSessionTicket that tells that
 * the server accepted the handshake (see check_verdict). */
static void
watch_trace(void *arg, const char *line)
{
	struct remote *r = arg;

	if (strncmp(line, "<- NewSessionTicket", 19) == 0)
		r->ticket = 1;
}

static struct mtls_config *
client_config(struct remote *r)
{
	const struct mtls_doctor_options *opt = r->st->opt;
	struct mtls_config *cfg = mtls_config_new();

	if (cfg == NULL)
		return NULL;
	/* Our certificate is offered only when it loaded and matched: a
	 * broken one is already reported, and the server's verdict on no
	 * certificate is still worth having. */
	if (r->st->cert_ok && r->st->key_ok && r->st->leaf != NULL &&
	    !doctor_has(r->d, DR_KEY_MISMATCH)) {
		if (mtls_config_set_cert_file(cfg, opt->cert_file) != 0 ||
		    mtls_config_set_key_file(cfg, opt->key_file,
		    opt->passphrase) != 0) {
			mtls_config_free(cfg);
			if ((cfg = mtls_config_new()) == NULL)
				return NULL;
		}
	}
	/* The server's chain and name are checked by doctor_check_leaf(),
	 * which reports what is wrong instead of stopping here. */
	mtls_config_insecure_noverifycert(cfg);
	mtls_config_insecure_noverifyname(cfg);
	return cfg;
}

static void check_server(struct mtls_doctor *d, struct doctor_state *st);

/*
 * A write to a connection the server has closed raises SIGPIPE, whose
 * default action ends the process: a library must not.  SIGPIPE is blocked
 * in this thread for the checks, and one they raised is consumed unless it
 * was pending already.
 */
void
doctor_check_remote(struct mtls_doctor *d, struct doctor_state *st)
{
	sigset_t pipe_set, old, pending;
	struct timespec zero = { 0, 0 };
	int was_pending;

	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
	was_pending = sigpending(&pending) == 0 &&
	    sigismember(&pending, SIGPIPE) == 1;
	check_server(d, st);
	if (!was_pending)
		while (sigtimedwait(&pipe_set, NULL, &zero) == SIGPIPE)
			;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

static void
check_server(struct mtls_doctor *d, struct doctor_state *st)
{
	const struct mtls_doctor_options *opt = st->opt;
	struct mtls_config *cfg = NULL;
	struct mtls *tls = NULL;
	struct remote r;
	char detail[256];
	int fd, h;

	memset(&r, 0, sizeof(r));
	r.d = d;
	r.st = st;
	r.target = opt->connect;
	r.timeout_ms = opt->timeout_ms > 0 ? opt->timeout_ms :
	    DEFAULT_TIMEOUT_MS;
	if (split_hostport(opt->connect, r.host, sizeof(r.host), r.port,
	    sizeof(r.port)) != 0)
		return; /* mtls_doctor_run() refused it already */
	r.servername = opt->servername != NULL ? opt->servername :
	    opt->name != NULL ? opt->name : r.host;
	int reserve = r.timeout_ms / 4 < PROBE_MAX_MS ? r.timeout_ms / 4 :
	    PROBE_MAX_MS;
	mtls_deadline_in(&r.deadline, r.timeout_ms);
	r.end = r.deadline;
	r.connect_ms = r.timeout_ms - reserve;
	mtls_deadline_in(&r.deadline, r.connect_ms);

	if ((fd = tcp_connect(&r)) == -1)
		return;
	cfg = client_config(&r);
	tls = cfg != NULL ? mtls_client() : NULL;
	if (tls != NULL)
		mtls_set_trace(tls, watch_trace, &r);
	if (tls == NULL || mtls_configure(tls, cfg) != 0 ||
	    mtls_connect_socket(tls, fd, r.servername) != 0) {
		doctor_add(d, DR_TLS_HANDSHAKE_FAILED, r.target, r.target,
		    tls != NULL && mtls_error(tls) != NULL ? mtls_error(tls) :
		    cfg != NULL && mtls_config_error(cfg) != NULL ?
		    mtls_config_error(cfg) : "out of memory", NULL);
		goto out;
	}
	if ((h = handshake(&r, tls, fd)) != 0) {
		report_handshake_failure(&r, tls, h == -2);
		goto out;
	}
	snprintf(detail, sizeof(detail), "%s, %s%s%s",
	    mtls_conn_version(tls) ? mtls_conn_version(tls) : "?",
	    mtls_conn_cipher(tls) ? mtls_conn_cipher(tls) : "?",
	    mtls_conn_group(tls) ? ", " : "",
	    mtls_conn_group(tls) ? mtls_conn_group(tls) : "");
	doctor_add(d, DR_OK_HANDSHAKE, r.target, r.target, detail, NULL);
	check_server_cert(&r, tls);
	check_client_auth(&r, tls);
	check_verdict(&r, tls, fd);
out:
	mtls_free(tls);
	mtls_config_free(cfg);
	close(fd);
	ERR_clear_error();
}
