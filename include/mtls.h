/*
 * mtls.h - the public API of libmtls, a mutual-TLS toolkit.
 *
 * Shape (after OpenBSD's libtls): opaque nouns, safe defaults set by the
 * constructors, anything that skips a check carries "insecure" in its name,
 * results are 0 on success and -1 on failure, and the reason is a readable
 * string.  Functions that create an object report a failure through a
 * caller-owned struct mtls_error; functions on an object leave their reason in
 * the object (mtls_ca_error(), mtls_config_error(), mtls_error()).
 * No OpenSSL type appears here.  Every *_free(NULL) is harmless.
 */
#ifndef MTLS_H
#define MTLS_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MTLS_API_VERSION 1
#define MTLS_VERSION_STRING "0.1.0"

/* The library's version, "0.1.0". */
const char *mtls_version(void);

/* ------------------------------------------------------------------ */
/* Errors                                                             */
/* ------------------------------------------------------------------ */

/* Stable error kinds, declared once with their text in src/lib/error.c. */
enum mtls_errcode {
	MTLS_OK = 0,
	MTLS_ERR_USAGE,        /* a bad argument from the caller */
	MTLS_ERR_NOMEM,
	MTLS_ERR_IO,           /* a file or socket could not be read/written */
	MTLS_ERR_EXISTS,       /* an output exists and overwrite was not asked */
	MTLS_ERR_PARSE,        /* malformed PEM/DER or other input */
	MTLS_ERR_PASSPHRASE,   /* missing or wrong passphrase */
	MTLS_ERR_KEY_MISMATCH, /* the key does not belong to the certificate */
	MTLS_ERR_POLICY,       /* refused by policy (weak key, CA request...) */
	MTLS_ERR_VERIFY,       /* a certificate did not verify */
	MTLS_ERR_DB,           /* the CA inventory failed */
	MTLS_ERR_NOT_FOUND,    /* no such serial / object */
	MTLS_ERR_CRYPTO,       /* OpenSSL failed; its reason is in the text */
	MTLS_ERR_TLS,          /* a TLS connection failed */
};

/*
 * A caller-owned error, for the calls that create an object (no object
 * exists yet to hold the reason); calls on an object keep the reason in
 * the object.  Its fixed size stays in the ABI on purpose: a failure, out
 * of memory included, is reported without allocating, into memory that
 * the caller owns and no other thread touches, and the caller can keep it
 * on the stack.  768 bytes hold the longest message the library writes (a
 * verification failure naming two subjects and a file); a longer one is
 * cut, never overflowed.  Changing the size is an ABI change (a new
 * SOVERSION), so it is fixed now, before 1.0.
 */
struct mtls_error {
	enum mtls_errcode code;
	char msg[768];
};

/* The fixed description of an error code ("file already exists", ...). */
const char *mtls_errcode_text(enum mtls_errcode code);

/* ------------------------------------------------------------------ */
/* Keys                                                               */
/* ------------------------------------------------------------------ */

enum mtls_key_type {
	MTLS_KEY_EC_P256 = 0, /* the default */
	MTLS_KEY_EC_P384,
	MTLS_KEY_RSA_2048,
	MTLS_KEY_RSA_3072,
	MTLS_KEY_RSA_4096,
	MTLS_KEY_ED25519,
};

/* "ec-p256" -> MTLS_KEY_EC_P256; returns -1 for an unknown name. */
int mtls_key_type_parse(const char *name, enum mtls_key_type *type);
const char *mtls_key_type_name(enum mtls_key_type type);

struct mtls_key;

struct mtls_key *mtls_key_generate(enum mtls_key_type type,
    struct mtls_error *err);
/* PEM or DER; passphrase may be NULL (an encrypted key then fails with
 * MTLS_ERR_PASSPHRASE). */
struct mtls_key *mtls_key_load_file(const char *path, const char *passphrase,
    struct mtls_error *err);
struct mtls_key *mtls_key_load_mem(const void *buf, size_t len,
    const char *passphrase, const char *name, struct mtls_error *err);
/* Writes PEM PKCS#8, mode 0600, atomically (temp file, fsync, rename).
 * passphrase non-NULL encrypts with AES-256-CBC and scrypt/PBKDF2. */
int mtls_key_write_file(const struct mtls_key *key, const char *path,
    const char *passphrase, int flags, struct mtls_error *err);
void mtls_key_free(struct mtls_key *key);

/* Flags for the *_write_file functions. */
#define MTLS_WRITE_FORCE 0x1 /* replace an existing file */

/* ------------------------------------------------------------------ */
/* Names: the subject and SANs of a CSR or certificate to make        */
/* ------------------------------------------------------------------ */

struct mtls_names {
	const char *common_name;       /* required */
	const char *const *dns;        /* DNS SANs */
	size_t ndns;
	const char *const *ip;         /* IPv4 or IPv6 literals */
	size_t nip;
	const char *const *uri;        /* URI SANs (e.g. spiffe://...) */
	size_t nuri;
	const char *const *email;      /* rfc822Name SANs */
	size_t nemail;
};

/* ------------------------------------------------------------------ */
/* Certificates, CSRs and CRLs as files                               */
/* ------------------------------------------------------------------ */

struct mtls_cert; /* one certificate, or a chain: leaf first */
struct mtls_csr;

struct mtls_cert *mtls_cert_load_file(const char *path,
    struct mtls_error *err);
struct mtls_cert *mtls_cert_load_mem(const void *buf, size_t len,
    const char *name, struct mtls_error *err);
/* Number of certificates held (leaf + chain). */
size_t mtls_cert_count(const struct mtls_cert *cert);
/* Writes every certificate, PEM, atomically. */
int mtls_cert_write_file(const struct mtls_cert *cert, const char *path,
    int flags, struct mtls_error *err);
/* 0 when key is the private key of the leaf. */
int mtls_cert_check_key(const struct mtls_cert *cert,
    const struct mtls_key *key, struct mtls_error *err);
void mtls_cert_free(struct mtls_cert *cert);

/* A new CSR signed by key, for names. */
struct mtls_csr *mtls_csr_new(const struct mtls_key *key,
    const struct mtls_names *names, struct mtls_error *err);
struct mtls_csr *mtls_csr_load_file(const char *path, struct mtls_error *err);
struct mtls_csr *mtls_csr_load_mem(const void *buf, size_t len,
    const char *name, struct mtls_error *err);
int mtls_csr_write_file(const struct mtls_csr *csr, const char *path,
    int flags, struct mtls_error *err);
void mtls_csr_free(struct mtls_csr *csr);

/* PKCS#12 bundle (AES-256-CBC, PBKDF2, SHA-256 MAC) of cert chain and key. */
int mtls_pkcs12_write_file(const struct mtls_cert *cert,
    const struct mtls_key *key, const char *friendly_name,
    const char *passphrase, const char *path, int flags,
    struct mtls_error *err);

/* ------------------------------------------------------------------ */
/* The certificate authority                                          */
/* ------------------------------------------------------------------ */

enum mtls_cert_kind {
	MTLS_CERT_SERVER = 1, /* EKU serverAuth */
	MTLS_CERT_CLIENT = 2, /* EKU clientAuth */
	MTLS_CERT_CA = 3,     /* a CA certificate (root or intermediate) */
};

const char *mtls_cert_kind_name(enum mtls_cert_kind kind);

struct mtls_ca;

struct mtls_ca_options {
	const char *dir;            /* the CA directory to create */
	const char *name;           /* CN; default "mtls Root CA" */
	enum mtls_key_type key_type;
	int days;                   /* 0: 3650 root, 1825 intermediate */
	const char *parent_dir;     /* non-NULL: an intermediate under it */
	const char *parent_passphrase;
	const char *passphrase;     /* non-NULL: encrypt ca.key with it */
};

/* Creates a CA directory (ca.crt, ca.key 0600, chain.crt for an
 * intermediate, ca.db); refuses when one exists. Returns it opened. */
struct mtls_ca *mtls_ca_create(const struct mtls_ca_options *opt,
    struct mtls_error *err);
/* Opens an existing CA. passphrase is needed only if ca.key is encrypted and
 * a signing operation is asked. */
struct mtls_ca *mtls_ca_open(const char *dir, const char *passphrase,
    struct mtls_error *err);
/* The same with the inventory elsewhere: db is an SQLite file, or a
 * postgres:// (postgresql://) URL that several CA front ends share; NULL
 * means DIR/ca.db. */
struct mtls_ca *mtls_ca_open_db(const char *dir, const char *db,
    const char *passphrase, struct mtls_error *err);
const char *mtls_ca_error(const struct mtls_ca *ca);
/* The CA certificate with its chain up to the root (for PREFIX.crt). */
const struct mtls_cert *mtls_ca_cert(const struct mtls_ca *ca);
int mtls_ca_is_key_encrypted(const struct mtls_ca *ca);
void mtls_ca_free(struct mtls_ca *ca);

struct mtls_issue_options {
	enum mtls_cert_kind kind;   /* SERVER or CLIENT */
	int days;                   /* 0: 90 */
	/* Non-zero: the lifetime in seconds instead of days (online CAs issue
	 * certificates of hours or minutes); notBefore is then backdated by
	 * a tenth of it, at most the usual five minutes, so that renewal at
	 * two thirds of the lifetime stays after issuance. */
	long lifetime_seconds;
};

/* Issues a leaf for key's public key and names. Returns leaf + CA chain.
 * A names->common_name that is a hostname or IP literal is added to the
 * SANs (an IP literal as IP; a host name when it holds a dot or is
 * "localhost", as DNS; "client" stays in the subject only). A server
 * certificate needs at least one SAN. Validity is capped at the CA's
 * notAfter. Recorded in ca.db in one transaction. */
struct mtls_cert *mtls_ca_issue(struct mtls_ca *ca, const struct mtls_key *key,
    const struct mtls_names *names, const struct mtls_issue_options *opt);
/* Signs a CSR: checks its self-signature and key strength, copies only the
 * subject and SANs, never any requested extension. */
struct mtls_cert *mtls_ca_sign_csr(struct mtls_ca *ca,
    const struct mtls_csr *csr, const struct mtls_issue_options *opt);

/* RFC 5280 section 5.3.1 reason codes. */
enum mtls_revoke_reason {
	MTLS_REVOKE_UNSPECIFIED = 0,
	MTLS_REVOKE_KEY_COMPROMISE = 1,
	MTLS_REVOKE_CA_COMPROMISE = 2,
	MTLS_REVOKE_AFFILIATION_CHANGED = 3,
	MTLS_REVOKE_SUPERSEDED = 4,
	MTLS_REVOKE_CESSATION_OF_OPERATION = 5,
	MTLS_REVOKE_CERTIFICATE_HOLD = 6,
	MTLS_REVOKE_PRIVILEGE_WITHDRAWN = 9,
	MTLS_REVOKE_AA_COMPROMISE = 10,
};
/* "keyCompromise" or "key-compromise" -> ...; -1 for an unknown name. */
int mtls_revoke_reason_parse(const char *name, enum mtls_revoke_reason *r);
/* The RFC 5280 name of any CRLReason code, as in CRLs read from elsewhere
 * ("keyCompromise"; "removeFromCRL" for 8, which revocation does not take);
 * "unknown" for a value that is none. */
const char *mtls_revoke_reason_name(enum mtls_revoke_reason r);

/* serial_hex: the serial in hex, any case, with or without colons. */
int mtls_ca_revoke(struct mtls_ca *ca, const char *serial_hex,
    enum mtls_revoke_reason reason);
int mtls_ca_revoke_cert(struct mtls_ca *ca, const struct mtls_cert *cert,
    enum mtls_revoke_reason reason);
/* Writes a v2 CRL (CRL number, AKI, reasons) valid for days (0: 7). */
int mtls_ca_write_crl(struct mtls_ca *ca, const char *path, int days,
    int flags);

enum mtls_cert_status {
	MTLS_STATUS_VALID = 0,
	MTLS_STATUS_REVOKED,
	MTLS_STATUS_EXPIRED,
};

struct mtls_ca_record {
	const char *serial;         /* hex, upper case */
	const char *subject;        /* one-line RFC 2253 */
	const char *sans;           /* "DNS:a, IP:1.2.3.4, URI:..." */
	enum mtls_cert_kind kind;
	time_t not_before;
	time_t not_after;
	enum mtls_cert_status status; /* EXPIRED derived from not_after */
	time_t revoked_at;          /* 0 when not revoked */
	enum mtls_revoke_reason reason;
	const char *superseded_by;  /* the serial its renewal (EST
	                             * re-enrollment) was issued as; NULL when
	                             * none */
};

/* Calls fn for every issued certificate, oldest first; fn returns non-zero
 * to stop. */
int mtls_ca_list(struct mtls_ca *ca,
    int (*fn)(const struct mtls_ca_record *rec, void *arg), void *arg);

/* Adopts a CA made elsewhere: dir holds its ca.crt (a CA certificate)
 * and, unless it is kept offline, ca.key (which must be that
 * certificate's), but no inventory.  Starts an empty one (dir/ca.db, or
 * db) so that the CA can issue; refuses a dir/ca.db that exists. */
int mtls_ca_import(const char *dir, const char *db, struct mtls_error *err);

/* The inventory itself (db: an SQLite file or a postgres:// URL).  Its
 * messages name db without the password. */
/* Creates the schema; refuses a database that holds one. */
int mtls_ca_db_init(const char *db, struct mtls_error *err);
/* Brings the schema to this version of mtls; *from and *to (may be NULL)
 * say from which version to which. */
int mtls_ca_db_migrate(const char *db, int *from, int *to,
    struct mtls_error *err);
/* Copies the inventory of the CA in from_dir (its ca.db) into db, in one
 * transaction: certificates db lacks are added, a revocation db lacks is
 * carried over, the CRL number never goes back.  Running it again changes
 * nothing.  *added and *revoked (may be NULL) count the changes. */
int mtls_ca_db_import(const char *db, const char *from_dir, size_t *added,
    size_t *revoked, struct mtls_error *err);
/* db as it may be shown or logged: the URL without its password (a heap
 * string for free(); NULL on out of memory). */
char *mtls_ca_db_label(const char *db);

/* ------------------------------------------------------------------ */
/* The online CA: EST (RFC 7030) and enrollment tokens                 */
/* ------------------------------------------------------------------ */

/* A one-time enrollment token: bound to the names it may request, usable
 * once, until it expires.  Only the SHA-256 of the secret is stored (in
 * ca.db); the secret is given to the caller once. */
struct mtls_token_options {
	const struct mtls_names *names; /* common_name required; dns, ip, uri */
	enum mtls_cert_kind kind;       /* SERVER or CLIENT (0: CLIENT) */
	long ttl_seconds;               /* 0: one hour */
};
#define MTLS_TOKEN_MAX 64 /* room for a token and its NUL */
int mtls_ca_token_create(struct mtls_ca *ca,
    const struct mtls_token_options *opt, char *token, size_t len);

/*
 * The server side of EST: the requests of /.well-known/est/ (cacerts,
 * simpleenroll, simplereenroll, csrattrs) and /crl, answered from an open
 * CA.  The transport (TLS, HTTP framing, the body limit) is the caller's;
 * mtls_est_handle() decides and issues.  Not thread-safe: one thread.
 */
struct mtls_est;

struct mtls_est_options {
	const char *bootstrap_ca_file; /* clients with a certificate from these
	                                  CAs may enroll (names limited to
	                                  theirs); NULL: tokens only */
	long lifetime_seconds;      /* of issued certificates; 0: 86400 */
	int rate_per_minute;        /* enrollments per identity; 0: 30 */
	const char *crl_file;       /* the CRL kept fresh; NULL: DIR/crl.pem */
	int crl_days;               /* its validity; 0: 1 */
};

#define MTLS_EST_MAX_BODY (64 * 1024) /* larger requests: 413 */

struct mtls_est *mtls_est_new(struct mtls_ca *ca,
    const struct mtls_est_options *opt, struct mtls_error *err);
void mtls_est_free(struct mtls_est *est);

struct mtls_est_request {
	const char *method;         /* "GET", "POST" */
	const char *path;           /* the request target */
	const char *content_type;   /* NULL when absent */
	const char *authorization;  /* the header's value, or NULL */
	const void *body;
	size_t body_len;
	struct mtls *conn;          /* the TLS connection (its verified peer) */
	const char *client;         /* the peer's address, for rate limits */
	time_t now;                 /* 0: now */
};

struct mtls_est_response {
	int status;                 /* HTTP status */
	const char *content_type;
	char *body;                 /* heap, body_len bytes */
	size_t body_len;
	int authenticate;           /* 401: send WWW-Authenticate: Basic */
	int retry_after;            /* 429/503: seconds, else 0 */
	char identity[256];         /* who asked: "token:NAME", the
	                               certificate's subject, or "-" */
	const char *outcome;        /* "issued", "renewed", "served" or the
	                               refusal's code ("token_used", ...) */
	char reason[256];           /* the refusal in words, or "" */
	char serial[64];            /* what was issued, or "" */
};

/* Fills resp (always: on -1 it is a 500 for an internal failure).  Free
 * its body with mtls_est_response_clear(). */
int mtls_est_handle(struct mtls_est *est, const struct mtls_est_request *req,
    struct mtls_est_response *resp);
/* A refusal decided by the transport: 413 for a body over
 * MTLS_EST_MAX_BODY, else malformed HTTP with that status (400, 414,
 * 431...). */
void mtls_est_refuse(struct mtls_est *est, int status,
    struct mtls_est_response *resp);
void mtls_est_response_clear(struct mtls_est_response *resp);

/* Remakes the CRL when it is missing, past half of its validity, or the
 * inventory holds a revocation it lacks: 1 remade, 0 not needed, -1 failed
 * (err says why; the old CRL is still served).  *next_update: the served
 * CRL's. */
int mtls_est_crl_refresh(struct mtls_est *est, time_t now,
    time_t *next_update, struct mtls_error *err);
/* The Prometheus text of the counters (mtls_ca_*), cut at cap. */
size_t mtls_est_metrics(struct mtls_est *est, char *buf, size_t cap,
    time_t now);

/* The client side: one HTTPS request per call, over a blocking socket. */
struct mtls_est_client {
	const char *url;            /* https://HOST[:PORT][/prefix] */
	const char *ca_file;        /* trust anchors for the server */
	const char *cert_file;      /* our certificate (re-enrollment), or */
	const char *key_file;       /* NULL */
	const char *user;           /* HTTP Basic (a token), or NULL */
	const char *password;
	int timeout_ms;             /* 0: 10000 */
	const char *key_passphrase; /* key_file's when it is encrypted (a
	                             * new key is then written encrypted with
	                             * it too), or NULL */
};

/* The CA certificates (cacerts). */
struct mtls_cert *mtls_est_cacerts(const struct mtls_est_client *c,
    struct mtls_error *err);
/* simpleenroll (or simplereenroll): the issued certificate followed by
 * its chain (from cacerts, without the root). */
struct mtls_cert *mtls_est_enroll(const struct mtls_est_client *c,
    const struct mtls_csr *csr, int reenroll, struct mtls_error *err);
/* GET of path under the URL's origin: the body (heap) of a 200 answer. */
int mtls_est_get(const struct mtls_est_client *c, const char *path,
    char **body, size_t *len, struct mtls_error *err);
/* Renews cert_file through simplereenroll, authenticated by it and
 * key_file: the same subject and SANs, the same key or (rekey) a new one
 * of the same type; writes the files atomically (the key first).  0, with
 * the new validity in *not_before / *not_after (may be NULL).  An
 * encrypted key is read, and a new one written, with c->key_passphrase. */
int mtls_est_renew_files(const struct mtls_est_client *c,
    const char *cert_file, const char *key_file, int rekey,
    time_t *not_before, time_t *not_after, struct mtls_error *err);
/* When to renew a certificate valid from nb to na: at two thirds of its
 * lifetime, earlier by up to a twelfth of it (jitter01 in [0, 1)), so that
 * a fleet issued together does not renew together. */
time_t mtls_renew_time(time_t nb, time_t na, double jitter01);
/* Seconds to wait after the n-th failure in a row (n >= 1): doubling from
 * one second, at most a minute and at most a quarter of what is left of
 * the certificate's life (but at least a second). */
double mtls_renew_backoff(int n, time_t now, time_t na);

/* ------------------------------------------------------------------ */
/* Inspection                                                         */
/* ------------------------------------------------------------------ */

enum mtls_san_type {
	MTLS_SAN_DNS = 1,
	MTLS_SAN_IP,
	MTLS_SAN_URI,
	MTLS_SAN_EMAIL,
	MTLS_SAN_OTHER,
};

struct mtls_san {
	enum mtls_san_type type;
	char *value;                /* for OTHER, the kind is in the value
	                               ("othername:1.2.3.4", "RID:...") */
};

/* "DNS", "IP", "URI", "email" or "other" (the prefixes of OpenSSL's text
 * form, "DNS:example.com"). */
const char *mtls_san_type_name(enum mtls_san_type type);

/* Plain facts about one certificate. All strings are owned by the struct. */
struct mtls_cert_info {
	char *subject;              /* one line, RFC 2253 order */
	char *issuer;
	char *common_name;          /* NULL when absent */
	char *serial;               /* hex, upper case */
	int version;                /* 1 or 3 */
	time_t not_before;
	time_t not_after;
	struct mtls_san *sans;
	size_t nsans;
	char *key_usage;            /* "digitalSignature, keyCertSign" or NULL */
	char *ext_key_usage;        /* "serverAuth, clientAuth" or NULL */
	int is_ca;                  /* basicConstraints CA:TRUE */
	int path_len;               /* -1 when unlimited / absent */
	char *key_type;             /* "EC P-256", "RSA", "Ed25519" */
	int key_bits;
	char *signature_algorithm;  /* "ecdsa-with-SHA256" */
	char *fingerprint_sha256;   /* "AB:CD:..." */
	char *ski;                  /* hex or NULL */
	char *aki;                  /* hex or NULL */
	int self_signed;
};

/* Fills info for the i-th certificate of cert (0 = leaf). */
int mtls_cert_info(const struct mtls_cert *cert, size_t i,
    struct mtls_cert_info *info, struct mtls_error *err);
void mtls_cert_info_clear(struct mtls_cert_info *info);

/* Requested facts of a CSR.  Requested extensions other than SANs, key
 * usage, extended key usage and basic constraints are listed by name in
 * other_extensions ("1.2.3.4 (critical)"). */
struct mtls_csr_info {
	char *subject;              /* one line, RFC 2253 order */
	char *common_name;          /* NULL when absent */
	struct mtls_san *sans;
	size_t nsans;
	char *key_usage;            /* requested, or NULL */
	char *ext_key_usage;        /* requested, or NULL */
	int has_basic_constraints;
	int is_ca;                  /* requests CA:TRUE */
	int path_len;               /* -1 when unlimited / absent */
	char **other_extensions;
	size_t nother_extensions;
	char *key_type;             /* "EC P-256", "RSA", "Ed25519" */
	int key_bits;
	char *signature_algorithm;
	int signature_ok;           /* the self-signature verifies */
};

int mtls_csr_info(const struct mtls_csr *csr, struct mtls_csr_info *info,
    struct mtls_error *err);
void mtls_csr_info_clear(struct mtls_csr_info *info);

/* One or more CRLs read from a file (PEM or DER); a file may hold the CRLs
 * of several CAs of a chain. */
struct mtls_crl;

struct mtls_crl *mtls_crl_load_file(const char *path,
    struct mtls_error *err);
struct mtls_crl *mtls_crl_load_mem(const void *buf, size_t len,
    const char *name, struct mtls_error *err);
size_t mtls_crl_count(const struct mtls_crl *crl);
void mtls_crl_free(struct mtls_crl *crl);

struct mtls_crl_entry {
	char *serial;               /* hex, upper case */
	time_t revoked_at;
	int reason;                 /* enum mtls_revoke_reason, -1 if absent */
};

struct mtls_crl_info {
	char *issuer;               /* one line, RFC 2253 order */
	int version;                /* 1 or 2 */
	time_t this_update;
	time_t next_update;         /* 0 when absent */
	char *crl_number;           /* decimal, NULL when absent */
	char *aki;                  /* hex or NULL */
	char *signature_algorithm;
	struct mtls_crl_entry *entries;
	size_t nentries;
};

/* Fills info for the i-th CRL of crl. */
int mtls_crl_info(const struct mtls_crl *crl, size_t i,
    struct mtls_crl_info *info, struct mtls_error *err);
void mtls_crl_info_clear(struct mtls_crl_info *info);

/* What a file holds ("what is this?"), for inspection and diagnosis. */
enum mtls_object_kind {
	MTLS_OBJECT_NONE = 0,       /* nothing we recognise */
	MTLS_OBJECT_CERT,
	MTLS_OBJECT_CSR,
	MTLS_OBJECT_CRL,
	MTLS_OBJECT_KEY,            /* a private key, plain or encrypted */
	MTLS_OBJECT_PUBLIC_KEY,
	MTLS_OBJECT_PKCS12,
};

struct mtls_file_contents {
	enum mtls_object_kind first; /* the kind of the first object */
	int der;                    /* 1: one DER object, 0: PEM */
	size_t ncerts;
	size_t ncsrs;
	size_t ncrls;
	size_t nkeys;
	size_t npublic_keys;
	size_t npkcs12;
	size_t nother;              /* PEM blocks of another kind */
};

/* Fills c; a file holding nothing recognisable is not an error (first is
 * MTLS_OBJECT_NONE).  Fails on I/O errors and on a recognised PEM block
 * whose contents do not decode (MTLS_ERR_PARSE, naming the block). */
int mtls_file_identify(const char *path, struct mtls_file_contents *c,
    struct mtls_error *err);
int mtls_mem_identify(const void *buf, size_t len, const char *name,
    struct mtls_file_contents *c, struct mtls_error *err);
/* "a certificate", "a private key", "a PKCS#12 bundle", ... */
const char *mtls_object_kind_name(enum mtls_object_kind kind);

/* ------------------------------------------------------------------ */
/* Verification                                                       */
/* ------------------------------------------------------------------ */

enum mtls_purpose {
	MTLS_PURPOSE_ANY = 0,
	MTLS_PURPOSE_SERVER,
	MTLS_PURPOSE_CLIENT,
};

struct mtls_verify_options {
	const char *ca_file;        /* trust anchors (required) */
	const char *untrusted_file; /* intermediates, may be NULL */
	const char *crl_file;       /* may be NULL: then no revocation check */
	enum mtls_purpose purpose;
	const char *name;           /* DNS name or IP to match, may be NULL */
	time_t at;                  /* 0: now */
	/* How failure messages call ca_file and untrusted_file (a command
	 * line passes its option names, "--ca"); NULL: the file's path, and
	 * "a file of untrusted intermediates". */
	const char *ca_label;
	const char *untrusted_label;
};

/* Verifies the leaf of cert (its other certificates count as untrusted
 * intermediates). Strict: X509_STRICT, no partial wildcards, CN never used
 * as a name. On failure err->msg says why in words. Beyond OpenSSL's checks:
 * RSA, EC or EdDSA keys only; positive serials of at most 20 octets below
 * the trust anchor; name constraints only in CA certificates, never empty;
 * DNS SANs in preferred name syntax; with a purpose or a name, the leaf is
 * not a CA and an EKU, where present, names the purpose itself. With
 * crl_file the leaf's revocation is checked (failing closed), and every
 * certificate's when the file holds a CRL from each CA of the chain. */
int mtls_verify_cert(const struct mtls_cert *cert,
    const struct mtls_verify_options *opt, struct mtls_error *err);
/* The same; on success, when chain is non-NULL, *chain is the verified
 * path: the leaf first, the trust anchor last (free with mtls_cert_free()). */
int mtls_verify_cert_chain(const struct mtls_cert *cert,
    const struct mtls_verify_options *opt, struct mtls_cert **chain,
    struct mtls_error *err);

/* ------------------------------------------------------------------ */
/* TLS: configuration                                                 */
/* ------------------------------------------------------------------ */

/*
 * A configuration holds certificates, trust anchors, CRLs, protocol limits
 * and the server's access rules.  mtls_config_new() sets the safe defaults of
 * DESIGN.md: TLS 1.2 minimum (1.3 preferred), ECDHE+AEAD suites only, no
 * renegotiation or compression, security level 2, a client certificate
 * required on servers, the peer verified against the configured CA only.
 * A config may be shared by many contexts; it is reference counted, so it
 * can be replaced (reload) while connections made with the old one live on.
 * Its TLS context is built once, at the first mtls_configure() of each role;
 * a setter called later applies to contexts configured after it.  Set a
 * config up before use: to change a running server, build a new config and
 * configure a new server context with it (a reload).  The exception is
 * mtls_config_set_policy(), safe at any time: the next handshake, resumed
 * ones included, uses the new rules.  A policy given to a config must not
 * change afterwards (make a new one).
 */
struct mtls_config;
struct mtls_policy;

#define MTLS_TLS1_2 0x0303
#define MTLS_TLS1_3 0x0304

struct mtls_config *mtls_config_new(void);
void mtls_config_free(struct mtls_config *cfg);
const char *mtls_config_error(struct mtls_config *cfg);

/* The certificate file may hold the leaf followed by its chain. */
int mtls_config_set_cert_file(struct mtls_config *cfg, const char *path);
int mtls_config_set_key_file(struct mtls_config *cfg, const char *path,
    const char *passphrase);
/* Trust anchors (and, for a server, the CA names sent in
 * CertificateRequest). */
int mtls_config_set_ca_file(struct mtls_config *cfg, const char *path);
/* More trust anchors, from a second file (an EST server trusts its own CA
 * for re-enrollment and a bootstrap CA for first enrollment). */
int mtls_config_add_ca_file(struct mtls_config *cfg, const char *path);
/* Server: accept a client certificate whatever its extended key usage
 * (the chain is verified as usual).  EST re-enrollment (RFC 7030 3.3.2)
 * is authenticated by the certificate being renewed, which may be a
 * server's. */
void mtls_config_set_client_purpose_any(struct mtls_config *cfg);
/* The client side may opt in to the system store explicitly. */
int mtls_config_use_system_ca(struct mtls_config *cfg);
/* CRLs (one file may hold several); revocation is then checked for the
 * whole chain, and a missing or expired CRL fails closed. */
int mtls_config_set_crl_file(struct mtls_config *cfg, const char *path);
/* min/max: MTLS_TLS1_2 or MTLS_TLS1_3 (0: default). */
int mtls_config_set_protocols(struct mtls_config *cfg, int min, int max);
/* Server: require a client certificate (the default). */
void mtls_config_verify_client(struct mtls_config *cfg);
/* Server: ask for one; a certificate that is sent is verified and
 * authorized as usual.  A client that sends none is admitted only when the
 * rules hold an MTLS_ALLOW_ANY rule (then mtls_peer_cert_provided() is 0);
 * otherwise the handshake fails inside TLS (alert certificate_required in
 * TLS 1.3, handshake_failure in 1.2) and mtls_conn_reject_reason() is "no
 * client certificate, and no rule admits clients without one". */
void mtls_config_verify_client_optional(struct mtls_config *cfg);
/* Server: the access rules applied after verification (the config keeps a
 * reference; NULL allows nobody).  See "Access rules" below. */
int mtls_config_set_policy(struct mtls_config *cfg, struct mtls_policy *pol);
/* Server: file of ticket keys shared by instances (80 bytes per key). */
int mtls_config_set_ticket_key_file(struct mtls_config *cfg,
    const char *path);
/* Client: skip the server certificate / name checks. Dangerous. */
void mtls_config_insecure_noverifycert(struct mtls_config *cfg);
void mtls_config_insecure_noverifyname(struct mtls_config *cfg);
/* Turns session resumption off: a server keeps no session cache and sends
 * no tickets; a client offers no session.  On by default (a resumed
 * handshake costs none of the certificate work). */
void mtls_config_disable_resumption(struct mtls_config *cfg);
/* Client: the application protocols offered in ALPN (RFC 7301), a
 * comma-separated list such as "http/1.1". */
int mtls_config_set_alpn(struct mtls_config *cfg, const char *protos);
/* Server: keep at most sessions sessions for resumption (the default,
 * 4096, is about 25 MB with ECDSA P-256 client certificates: a session
 * holds the client's certificate).  The oldest are dropped first.  Not
 * used with a ticket key file (stateless tickets). */
int mtls_config_set_session_cache_size(struct mtls_config *cfg,
    size_t sessions);
/* Client: remember up to entries server chains verified in full (0, the
 * default: none).  A chain received again, byte for byte, for the same
 * server name is then accepted without being verified again, until the
 * first notAfter in it or nextUpdate of the CRLs; any other chain is
 * verified in full.  The server still proves its key in every handshake.
 * For clients that connect to the same servers many times. */
int mtls_config_set_verify_cache(struct mtls_config *cfg, size_t entries);
/* Server: ask OpenSSL for Linux kernel TLS (SSL_OP_ENABLE_KTLS).  Where the
 * kernel has the tls ULP and the suite is one it offloads, records are
 * then encrypted (and, as OpenSSL decides, decrypted) by the kernel after
 * the handshake, so the socket can take bytes by splice(2) or sendfile(2);
 * elsewhere nothing changes.  mtls_conn_ktls() says what a connection got.
 * Its connections write with OpenSSL's own socket code, which may raise
 * SIGPIPE: a program that enables this ignores SIGPIPE. */
void mtls_config_enable_ktls(struct mtls_config *cfg);

/* ------------------------------------------------------------------ */
/* TLS: contexts and connections                                      */
/* ------------------------------------------------------------------ */

/* A context is a client, a server, or one connection accepted by a
 * server. Non-blocking sockets make these return the values below. */
struct mtls;

#define MTLS_WANT_POLLIN -2
#define MTLS_WANT_POLLOUT -3

struct mtls *mtls_client(void);
struct mtls *mtls_server(void);
int mtls_configure(struct mtls *ctx, struct mtls_config *cfg);
const char *mtls_error(struct mtls *ctx);

/* Client: TLS over a connected socket; servername is sent as SNI and
 * checked against the certificate (NULL only with noverifyname).  The same
 * context may connect again after mtls_close().  A session made with the
 * same config for the same servername is offered for resumption (unless
 * mtls_config_disable_resumption()): the config keeps a pool of up to 16
 * per name, and each connection takes a TLS 1.3 ticket of its own (they are
 * single-use), so concurrent connections on one config all resume. */
int mtls_connect_socket(struct mtls *ctx, int fd, const char *servername);
/* Server: a new connection context for an accepted socket.  Several
 * threads may accept on one server context, so nothing is written to it:
 * every error, a failed accept's included, is in mtls_error(*conn), which
 * the caller frees with mtls_free() in both cases.  On -1 *conn is NULL
 * only when memory ran out (or server is no server context: then the
 * reason is in mtls_error(server)). */
int mtls_accept_socket(struct mtls *server, struct mtls **conn, int fd);
/* 0 when done, MTLS_WANT_POLLIN/POLLOUT, or -1 (see mtls_error and
 * mtls_conn_reject_reason). */
int mtls_handshake(struct mtls *ctx);
/* Bytes, 0 at a clean end of stream, MTLS_WANT_*, or -1. */
ssize_t mtls_read(struct mtls *ctx, void *buf, size_t len);
/* 1 when the connection holds received bytes that mtls_read() has not
 * returned yet (the socket may then be empty: read before polling). */
int mtls_pending(struct mtls *ctx);
ssize_t mtls_write(struct mtls *ctx, const void *buf, size_t len);
/* A connection gives its TLS record buffers (about 34 KiB) back after
 * every record it reads or writes.  mtls_keep_buffers() makes it keep them
 * between records, which saves two allocations per request and response
 * on a busy connection; mtls_release_buffers() frees them (or, while bytes
 * still wait in them, as soon as those are gone) and returns the
 * connection to giving them back after every record: 1, or 0 when it was
 * not keeping them.  Where the OpenSSL in use is older than 3.0.14 (whose
 * SSL_free_buffers could free a buffer in use) both do nothing. */
void mtls_keep_buffers(struct mtls *ctx);
int mtls_release_buffers(struct mtls *ctx);
/* Sends close_notify; 0, MTLS_WANT_*, or -1. Does not close the fd.
 * mtls_free() without it still keeps the session resumable when the
 * handshake completed and no fatal error happened (RFC 4346 7.2.1). */
int mtls_close(struct mtls *ctx);
void mtls_free(struct mtls *ctx);

/* Facts about the connection, valid after the handshake. */
const char *mtls_conn_version(struct mtls *ctx);     /* "TLSv1.3" */
const char *mtls_conn_cipher(struct mtls *ctx);      /* IANA-ish name */
const char *mtls_conn_group(struct mtls *ctx);       /* "X25519" or NULL */
const char *mtls_conn_servername(struct mtls *ctx);  /* SNI or NULL */
int mtls_conn_session_resumed(struct mtls *ctx);
/* What the kernel does for the connection (mtls_config_enable_ktls()):
 * MTLS_KTLS_SEND (it encrypts what is written to the socket) and
 * MTLS_KTLS_RECV (it decrypts), or 0.  With MTLS_KTLS_SEND, application
 * bytes may go into the socket directly once nothing written through
 * mtls_write() is pending; mtls_close() still sends close_notify.  Linux
 * cannot rekey the kernel's send key, so a TLS 1.3 peer that asks for a
 * key update then gets the connection closed: mtls_read() returns -1 and
 * says so. */
#define MTLS_KTLS_SEND 1
#define MTLS_KTLS_RECV 2
int mtls_conn_ktls(struct mtls *ctx);
/* Why the handshake failed, in words ("certificate revoked", "no rule
 * allows CN=x"), or NULL. */
const char *mtls_conn_reject_reason(struct mtls *ctx);

/*
 * Why the handshake failed, as a code from one table (src/lib/core/
 * reason.c) for programs to act on; the words above are for people and may
 * change.  A server gives the reason it refused the client (NONE exactly
 * when mtls_conn_reject_reason() is NULL); a client gives why it refused
 * the server's certificate, else what the server's refusal alert means,
 * else NOT_TLS or VERSION when the server is no TLS server for us.
 */
enum mtls_reject_code {
	MTLS_REJECT_NONE = 0,      /* not refused */
	MTLS_REJECT_NO_CERT,       /* no client certificate */
	MTLS_REJECT_UNKNOWN_CA,    /* the chain leads to no trusted CA */
	MTLS_REJECT_EXPIRED,       /* a certificate has expired */
	MTLS_REJECT_NOT_YET_VALID, /* a certificate is not yet valid */
	MTLS_REJECT_REVOKED,       /* a certificate is revoked */
	MTLS_REJECT_CRL,           /* revocation cannot be checked (no CRL,
	                              expired or unusable CRL) */
	MTLS_REJECT_USAGE,         /* not valid for this purpose (EKU) */
	MTLS_REJECT_RULES,         /* verified, but no access rule allows it */
	MTLS_REJECT_NAME,          /* the server's name is not in its SANs */
	MTLS_REJECT_BAD_CERT,      /* a malformed or unacceptable certificate
	                              (signature, CA flags, key size, name
	                              constraints...) */
	MTLS_REJECT_PROTOCOL,      /* a malformed handshake */
	MTLS_REJECT_OTHER,
	/* Added after OTHER, so that the values above stay as they were.
	 * A client gives these for a server that is not a TLS server. */
	MTLS_REJECT_NOT_TLS,       /* the peer does not speak TLS */
	MTLS_REJECT_VERSION,       /* no TLS version in common */
};
enum mtls_reject_code mtls_conn_reject_code(struct mtls *ctx);
/* A stable, short name for a code ("certificate_revoked",
 * "access_denied"), the label the proxy's metrics use. */
const char *mtls_reject_code_name(enum mtls_reject_code code);

/* Alerts seen on the connection: the description ("access_denied",
 * "certificate_expired"...) of the last alert we sent / received, or NULL. */
const char *mtls_conn_alert_sent(struct mtls *ctx);
const char *mtls_conn_alert_received(struct mtls *ctx);
/* Client: 1 when the server sent a CertificateRequest, and 1 when we
 * answered it with a certificate. */
int mtls_conn_cert_requested(struct mtls *ctx);
int mtls_conn_cert_sent(struct mtls *ctx);
/* Client: the CA names the server listed in its CertificateRequest
 * (one-line RFC 2253); NULL past the end. */
size_t mtls_conn_ca_name_count(struct mtls *ctx);
const char *mtls_conn_ca_name(struct mtls *ctx, size_t i, char *buf,
    size_t len);
/* Client: 1 when the server named no CA, or when the chain we sent leads
 * to one it named (by name); 0 when it named CAs and ours reaches none. */
int mtls_conn_cert_reaches_ca_names(struct mtls *ctx);
/* The protocol agreed in ALPN ("http/1.1"), or NULL. */
const char *mtls_conn_alpn(struct mtls *ctx);
/* Client: why the server's certificate did not verify, in words, or NULL
 * when it did (meaningful with mtls_config_insecure_noverifycert, where the
 * handshake goes on anyway, or after a failed handshake). */
const char *mtls_conn_verify_problem(struct mtls *ctx);

/* The verified peer certificate (leaf), NULL when none was presented. */
int mtls_peer_cert_provided(struct mtls *ctx);
const char *mtls_peer_cert_subject(struct mtls *ctx);
const char *mtls_peer_cert_issuer(struct mtls *ctx);
const char *mtls_peer_cert_common_name(struct mtls *ctx);
/* "sha256:<64 lower-case hex>" of the DER leaf. */
const char *mtls_peer_cert_hash(struct mtls *ctx);
time_t mtls_peer_cert_notbefore(struct mtls *ctx);
time_t mtls_peer_cert_notafter(struct mtls *ctx);
size_t mtls_peer_san_count(struct mtls *ctx);
/* The i-th SAN's value and type; NULL past the end. */
const char *mtls_peer_san(struct mtls *ctx, size_t i,
    enum mtls_san_type *type);
/* The leaf and chain as PEM (for headers), owned by ctx. */
const char *mtls_peer_cert_chain_pem(struct mtls *ctx, size_t *len);
/* The certificates the peer sent (leaf first; on a client also after a
 * failed verification), NULL past the end; for reports. */
size_t mtls_peer_chain_count(struct mtls *ctx);
int mtls_peer_chain_info(struct mtls *ctx, size_t i,
    struct mtls_cert_info *info, struct mtls_error *err);

/*
 * Handshake trace: fn is called once per line, in order, for every
 * handshake message and alert ("-> ClientHello: TLS 1.3, 1.2; 31 cipher
 * suites; key share X25519").  Set before the handshake; an accepted
 * connection inherits its server's trace.  NULL turns it off.
 */
typedef void (*mtls_trace_fn)(void *arg, const char *line);
void mtls_set_trace(struct mtls *ctx, mtls_trace_fn fn, void *arg);

/* ------------------------------------------------------------------ */
/* Access rules (server authorization)                                */
/* ------------------------------------------------------------------ */

enum mtls_rule_kind {
	MTLS_ALLOW_ANY = 1,     /* any verified certificate; under optional
	                           client auth also clients without one */
	MTLS_ALLOW_CN,          /* subject CN, exact */
	MTLS_ALLOW_DNS,         /* a DNS SAN, exact or "*.example.com" */
	MTLS_ALLOW_URI,         /* a URI SAN; "*" one path segment, "**" rest */
	MTLS_ALLOW_OU,          /* a subject OU, exact */
	MTLS_ALLOW_FINGERPRINT, /* "sha256:<hex>", colons allowed */
	MTLS_ALLOW_EMAIL,       /* an e-mail SAN, exact */
};

struct mtls_policy *mtls_policy_new(void);
/* Adds a rule; -1 with a message for a malformed value. */
int mtls_policy_allow(struct mtls_policy *pol, enum mtls_rule_kind kind,
    const char *value, struct mtls_error *err);
size_t mtls_policy_count(const struct mtls_policy *pol);
/* 1 when the (verified) peer of ctx is allowed; 0 otherwise, with the
 * reason in why. */
int mtls_policy_check(const struct mtls_policy *pol, struct mtls *ctx,
    char *why, size_t whylen);
void mtls_policy_free(struct mtls_policy *pol);

/* ------------------------------------------------------------------ */
/* Configuration for the servers and clients people already run       */
/* ------------------------------------------------------------------ */

/* The software a configuration is written for (mtls config, and the
 * server configurations that mtls doctor reads). */
enum mtls_software {
	MTLS_SOFTWARE_GUESS = 0,    /* doctor: from the file's name and text */
	MTLS_SOFTWARE_NGINX,
	MTLS_SOFTWARE_APACHE,
	MTLS_SOFTWARE_HAPROXY,
	MTLS_SOFTWARE_CURL,
	MTLS_SOFTWARE_REQUESTS,     /* Python requests */
	MTLS_SOFTWARE_OPENSSL,      /* openssl s_client */
};

/* "nginx", "apache", "haproxy", "curl", "requests", "openssl". */
int mtls_software_parse(const char *name, enum mtls_software *sw);
const char *mtls_software_name(enum mtls_software sw);

/* An access rule to translate into the server's own terms. */
struct mtls_snippet_rule {
	enum mtls_rule_kind kind;
	const char *value;
};

struct mtls_snippet_options {
	const char *cert_file;      /* server: its certificate (+ chain);
	                               client: the client certificate */
	const char *key_file;
	const char *ca_file;        /* server: the CAs that issue client
	                               certificates (root and intermediates);
	                               client: the CA of the server */
	const char *crl_file;       /* server, optional: a CRL for every CA of
	                               ca_file, or the snippet is refused */
	const char *listen;         /* server: "PORT" or "ADDR:PORT"; NULL 8443 */
	const char *server_name;    /* NULL: "localhost" */
	const char *backend;        /* server: http://HOST:PORT; NULL:
	                               http://127.0.0.1:8080 */
	const char *url;            /* client: NULL https://localhost:8443/ */
	const struct mtls_snippet_rule *rules;  /* none: any certificate the
	                                           CAs issued */
	size_t nrules;
	int identity_headers;       /* server: pass the verified identity to
	                               the backend, client copies removed */
	time_t now;                 /* 0: the current time (CRL freshness) */
};

/*
 * A complete, minimal configuration for sw made from the files: for a
 * server, the block to paste (nginx: inside http {}, Apache: at the top
 * level, HAProxy: sections) with one comment line saying why each line is
 * there; for a client, the command or code.  Paths are made absolute.
 * NULL with err set when the files cannot make a correct configuration
 * (a CA without its CRL, a file that is not what it should be).
 */
struct mtls_snippet;
struct mtls_snippet *mtls_snippet_make(enum mtls_software sw,
    const struct mtls_snippet_options *opt, struct mtls_error *err);
/* The whole text, lines ended by newlines. */
const char *mtls_snippet_text(const struct mtls_snippet *s);
size_t mtls_snippet_line_count(const struct mtls_snippet *s);
/* The i-th line, without its newline; NULL past the end. */
const char *mtls_snippet_line(const struct mtls_snippet *s, size_t i);
/* The files the lines name: role ("certificate", "key", "client CA",
 * "CRL", ...) and absolute path; NULL past the end. */
size_t mtls_snippet_file_count(const struct mtls_snippet *s);
const char *mtls_snippet_file(const struct mtls_snippet *s, size_t i,
    const char **role);
void mtls_snippet_free(struct mtls_snippet *s);

/* ------------------------------------------------------------------ */
/* Diagnosis                                                          */
/* ------------------------------------------------------------------ */

/*
 * mtls_doctor_run() checks an mTLS setup the way a careful engineer would
 * and returns a list of findings.  Each finding has a stable code
 * ("key-mismatch", "client-cert-rejected", ...), a severity, a subject (the
 * file or side it is about), one sentence saying what is wrong and one
 * saying what to do.  The codes, with their texts, are declared once in a
 * table (src/lib/doctor.c) and listed in docs/doctor.md.
 */
enum mtls_severity {
	MTLS_SEVERITY_OK = 0,       /* a check that passed */
	MTLS_SEVERITY_WARNING,      /* works now, but will or may fail */
	MTLS_SEVERITY_ERROR,        /* mutual TLS fails because of this */
};

/* "ok", "warning", "error". */
const char *mtls_severity_name(enum mtls_severity sev);

struct mtls_doctor;

struct mtls_doctor_options {
	const char *cert_file;      /* leaf, optionally followed by its chain */
	const char *key_file;
	const char *ca_file;        /* trust anchors (and intermediates) */
	const char *crl_file;
	enum mtls_purpose role;     /* the usage to expect; ANY: CLIENT with
	                               connect, SERVER with name */
	const char *name;           /* the server's name to check in the SAN */
	const char *connect;        /* "HOST:PORT" or "[IPv6]:PORT": also check
	                               a live server, as its client */
	const char *servername;     /* SNI and name for connect; NULL: name,
	                               else HOST */
	const char *passphrase;     /* for an encrypted key, may be NULL */
	int timeout_ms;             /* bound on the remote checks; 0: 5000 */
	int expiry_warn_days;       /* 0: 30 */
	time_t now;                 /* 0: the current time */
	const char *server_config;  /* an nginx, Apache or HAProxy configuration
	                               to audit (includes followed) */
	enum mtls_software server_type; /* its kind; GUESS: from the file */
	int ca_for_peer_only;       /* as serve and tunnel use them: ca_file
	                               verifies the peer, not cert_file (whose
	                               chain is then not checked against it),
	                               and with crl_file every CA in ca_file
	                               needs its CRL */
};

/* Runs every check that the options allow.  Returns NULL only when the
 * checks could not run at all (bad options, out of memory); what is wrong
 * with the setup is in the findings, never in err.  With connect, SIGPIPE
 * is blocked in the calling thread while the checks run. */
struct mtls_doctor *mtls_doctor_run(const struct mtls_doctor_options *opt,
    struct mtls_error *err);
size_t mtls_doctor_count(const struct mtls_doctor *d);
/* How many findings have severity sev. */
size_t mtls_doctor_count_severity(const struct mtls_doctor *d,
    enum mtls_severity sev);
/* The i-th finding, in the order the checks ran; NULL past the end. */
const char *mtls_doctor_code(const struct mtls_doctor *d, size_t i);
enum mtls_severity mtls_doctor_severity(const struct mtls_doctor *d,
    size_t i);
const char *mtls_doctor_subject(const struct mtls_doctor *d, size_t i);
const char *mtls_doctor_explanation(const struct mtls_doctor *d, size_t i);
const char *mtls_doctor_fix(const struct mtls_doctor *d, size_t i);
void mtls_doctor_free(struct mtls_doctor *d);

/* The table of every finding the checks can produce, for documentation:
 * the i-th code with its severity and its explanation and fix templates,
 * in which %1, %2... stand for the specifics that slots names, in order,
 * separated by spaces ("file reason").  Returns -1 past the end. */
size_t mtls_doctor_table_size(void);
int mtls_doctor_table_entry(size_t i, const char **code,
    enum mtls_severity *sev, const char **slots, const char **explanation,
    const char **fix);

#ifdef __cplusplus
}
#endif

#endif /* MTLS_H */
