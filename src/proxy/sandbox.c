/*
 * sandbox.c - what "mtls serve" gives up once its listeners are bound and
 * its files loaded, before the worker threads start (so that they inherit
 * it: a Landlock domain binds only the thread that makes it).
 *
 * Landlock (the ABI is probed at run time; the kernel headers of the build
 * may be older, so the structures of newer ABIs are declared here):
 *   - files: read-only on the directories of every certificate, key, CA,
 *     CRL, ticket-key and configuration file (and of their targets when
 *     they are symlinks), so that reloads and Kubernetes-style symlink
 *     swaps inside those directories keep working; creating and removing
 *     sockets in the directories of unix listeners; reading the few files
 *     name resolution needs.  Nothing is ever written, except the files
 *     that renewals and CRL fetches replace: their directories may
 *     also hold new regular files (an atomic write and its rename).
 *   - network (ABI >= 4), for a service of one only: bind on its listening
 *     and metrics ports, connect to its backend's port and to the ports of
 *     its renewal and CRL URLs.  A configuration
 *     file may add services on other ports at a reload, so with one the
 *     network is left to the seccomp filter.
 *   A kernel without Landlock says so in one line and the proxy goes on.
 *
 * seccomp (libseccomp): a list of the system calls the engine makes after
 * start; any other fails with EPERM.  Under valgrind, whose own system
 * calls the filter would also catch, it is left off with one line; under
 * AddressSanitizer the leak checker's calls at exit are added.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "proxy_int.h"

#include <seccomp.h>
#include <valgrind/valgrind.h>

/* <linux/landlock.h>, as of ABI 7. */
struct ll_ruleset_attr {
	uint64_t handled_access_fs;
	uint64_t handled_access_net;   /* ABI 4 */
};
struct ll_path_beneath_attr {
	uint64_t allowed_access;
	int32_t parent_fd;
} __attribute__((packed));
struct ll_net_port_attr {
	uint64_t allowed_access;
	uint64_t port;
};
#define LL_CREATE_RULESET_VERSION (1U << 0)
#define LL_RULE_PATH_BENEATH 1
#define LL_RULE_NET_PORT 2
#define LL_FS_EXECUTE (1ULL << 0)
#define LL_FS_READ_FILE (1ULL << 2)
#define LL_FS_READ_DIR (1ULL << 3)
#define LL_FS_WRITE_FILE (1ULL << 1)
#define LL_FS_REMOVE_FILE (1ULL << 5)
#define LL_FS_MAKE_REG (1ULL << 8)
#define LL_FS_MAKE_SOCK (1ULL << 9)
#define LL_FS_V1 ((1ULL << 13) - 1)
#define LL_FS_REFER (1ULL << 13)       /* ABI 2 */
#define LL_FS_TRUNCATE (1ULL << 14)    /* ABI 3 */
#define LL_FS_IOCTL_DEV (1ULL << 15)   /* ABI 5 */
#define LL_NET_BIND_TCP (1ULL << 0)
#define LL_NET_CONNECT_TCP (1ULL << 1)
/* What a rule on a file (not a directory) may allow. */
#define LL_FS_FILE_RIGHTS (LL_FS_EXECUTE | (1ULL << 1) | LL_FS_READ_FILE | \
    LL_FS_TRUNCATE | LL_FS_IOCTL_DEV)

#define SANDBOX_PATHS_MAX 256

/* The system calls of the engine after start: the loops, sockets, the
 * files of a reload, threads' own housekeeping, name resolution. */
static const char *const sandbox_syscalls[] = {
	"read", "write", "readv", "writev", "pread64", "pwrite64", "close",
	"fstat", "newfstatat", "statx", "stat", "lstat", "lseek", "mmap",
	"munmap", "mprotect", "mremap", "brk", "madvise", "rt_sigaction",
	"rt_sigprocmask", "rt_sigreturn", "sigaltstack", "futex",
	"set_robust_list", "rseq", "clone", "clone3", "exit", "exit_group",
	"gettid", "getpid", "getppid", "tgkill", "epoll_wait", "epoll_pwait",
	"epoll_pwait2", "epoll_ctl", "epoll_create1", "eventfd2", "accept4",
	"accept", "socket", "connect", "bind", "listen", "setsockopt",
	"getsockopt", "getsockname", "getpeername", "shutdown", "recvfrom",
	"sendto", "recvmsg", "sendmsg", "sendmmsg", "recvmmsg", "poll",
	"ppoll", "select", "pselect6", "openat", "open", "fcntl", "dup",
	"dup3", "pipe2", "unlink", "unlinkat", "inotify_add_watch",
	"inotify_init1", "inotify_rm_watch", "clock_gettime", "clock_getres",
	"clock_nanosleep", "nanosleep", "gettimeofday", "time", "getrandom",
	"uname", "sysinfo", "sched_getaffinity", "sched_yield", "prlimit64",
	"getrlimit", "getuid", "geteuid", "getgid", "getegid", "ioctl",
	"readlink", "readlinkat", "access", "faccessat", "faccessat2",
	"getdents64", "fsync", "fdatasync", "timerfd_create",
	"timerfd_settime", "signalfd4", "splice", "pipe", "membarrier",
	"restart_syscall",
	/* Renewals and CRL fetches: the atomic writes of the files they
	 * replace (mtls_file_write_atomic) */
	"linkat", "rename", "renameat", "renameat2", "fchmod", "umask",
};

#ifdef __SANITIZE_ADDRESS__
/* LeakSanitizer stops the world at exit from a traced helper. */
static const char *const sandbox_syscalls_asan[] = {
	"ptrace", "wait4", "waitid", "prctl", "kill", "process_vm_readv",
	"getpgid", "setpgid", "getdents", "sched_setaffinity", "munlock",
};
#define SANDBOX_ASAN 1
#else
#define SANDBOX_ASAN 0
#endif

struct sandbox_paths {
	char *p[SANDBOX_PATHS_MAX];
	uint64_t access[SANDBOX_PATHS_MAX];
	size_t n;
};

static void
paths_add(struct sandbox_paths *sp, const char *path, uint64_t access)
{
	for (size_t i = 0; i < sp->n; i++)
		if (strcmp(sp->p[i], path) == 0) {
			sp->access[i] |= access;
			return;
		}
	if (sp->n < SANDBOX_PATHS_MAX && (sp->p[sp->n] = strdup(path)) !=
	    NULL)
		sp->access[sp->n++] = access;
}

/* The directory of path, and of its target when it is a symlink. */
static void
paths_add_dir_of(struct sandbox_paths *sp, const char *path,
    uint64_t access)
{
	char buf[PATH_MAX], *d;

	if (path == NULL)
		return;
	if ((d = strdup(path)) != NULL) {
		paths_add(sp, dirname(d), access);
		free(d);
	}
	if (realpath(path, buf) != NULL)
		paths_add(sp, dirname(buf), access);
}

static void
paths_free(struct sandbox_paths *sp)
{
	for (size_t i = 0; i < sp->n; i++)
		free(sp->p[i]);
	sp->n = 0;
}

static int
ll_add_path(int rfd, const char *path, uint64_t access, uint64_t handled)
{
	struct ll_path_beneath_attr pb = { 0 };
	int fd = open(path, O_PATH | O_CLOEXEC), ret;

	if (fd == -1)
		return errno == ENOENT ? 0 : -1; /* nothing there to allow */
	pb.allowed_access = access & handled;
	pb.parent_fd = fd;
	ret = (int)syscall(SYS_landlock_add_rule, rfd, LL_RULE_PATH_BENEATH,
	    &pb, 0);
	if (ret == -1 && errno == EINVAL) {
		/* A file, not a directory: only file rights apply. */
		pb.allowed_access &= LL_FS_FILE_RIGHTS;
		ret = (int)syscall(SYS_landlock_add_rule, rfd,
		    LL_RULE_PATH_BENEATH, &pb, 0);
	}
	close(fd);
	return ret;
}

static int
ll_add_port(int rfd, uint64_t access, unsigned port)
{
	struct ll_net_port_attr np = { .allowed_access = access,
	    .port = port };

	return (int)syscall(SYS_landlock_add_rule, rfd, LL_RULE_NET_PORT, &np,
	    0);
}

static unsigned
addr_port(const struct proxy_addr *a)
{
	if (a->u.sa.sa_family == AF_INET)
		return ntohs(a->u.in.sin_port);
	if (a->u.sa.sa_family == AF_INET6)
		return ntohs(a->u.in6.sin6_port);
	return 0;
}

/* The port of an https:// URL (443 when it names none). */
static unsigned
url_port(const char *url)
{
	const char *h = url + strlen("https://"), *end = h + strcspn(h, "/");
	const char *colon = NULL;

	for (const char *p = h; p < end; p++)
		if (*p == ':')
			colon = p;
	/* "[v6]" without a port: its colons are inside the brackets. */
	if (colon == NULL || (h[0] == '[' && colon < strchr(h, ']')))
		return 443;
	return (unsigned)strtoul(colon + 1, NULL, 10);
}

/* Under the sanitizers, the folders their reports go to (log_path= in
 * ASAN_OPTIONS or UBSAN_OPTIONS): a report the sandbox kept from being
 * written would leave only a process that vanished. */
static void
paths_add_sanitizer_logs(struct sandbox_paths *sp)
{
	static const char *const vars[] = { "ASAN_OPTIONS", "UBSAN_OPTIONS",
	    "LSAN_OPTIONS" };
	const uint64_t rw = LL_FS_READ_DIR | LL_FS_WRITE_FILE |
	    LL_FS_MAKE_REG;

	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
		const char *opt = getenv(vars[i]), *p;
		char path[PATH_MAX];
		size_t n;

		if (opt == NULL || (p = strstr(opt, "log_path=")) == NULL)
			continue;
		p += strlen("log_path=");
		n = strcspn(p, ":");
		if (n == 0 || n >= sizeof(path))
			continue;
		memcpy(path, p, n);
		path[n] = '\0';
		paths_add(sp, dirname(path), rw);
	}
}

/* What each service's files need, and the process's own. */
static void
sandbox_paths(struct proxy *px, struct sandbox_paths *sp)
{
	static const char *const resolver[] = { "/etc/hosts",
	    "/etc/resolv.conf", "/etc/nsswitch.conf", "/etc/gai.conf",
	    "/etc/host.conf", "/etc/services" };
	const uint64_t ro = LL_FS_READ_FILE | LL_FS_READ_DIR;

	if (px->file != NULL)
		paths_add_dir_of(sp, px->file, ro);
	for (size_t i = 0; i < px->nsvcs; i++) {
		const struct proxy_service *svc = px->svcs[i];
		const struct proxy_options *o = &svc->opt;
		const char *f[] = { o->cert_file, o->key_file, o->ca_file,
		    o->crl_file, o->ticket_key_file };

		/* What a renewal or a CRL fetch replaces. */
		const uint64_t rw = ro | LL_FS_WRITE_FILE | LL_FS_MAKE_REG |
		    LL_FS_REMOVE_FILE;

		for (size_t j = 0; j < sizeof(f) / sizeof(f[0]); j++)
			paths_add_dir_of(sp, f[j], (o->renew_from != NULL &&
			    j < 2) || (o->crl_from != NULL && j == 3) ? rw : ro);
		for (size_t j = 0; j < svc->nlisten; j++)
			if (svc->listen[j].u.sa.sa_family == AF_UNIX)
				paths_add_dir_of(sp,
				    svc->listen[j].u.un.sun_path,
				    LL_FS_MAKE_SOCK | LL_FS_REMOVE_FILE);
	}
	/* getaddrinfo() for backend names: its files and the NSS modules it
	 * loads. */
	for (size_t i = 0; i < sizeof(resolver) / sizeof(resolver[0]); i++)
		paths_add(sp, resolver[i], LL_FS_READ_FILE);
	paths_add(sp, "/usr/lib", LL_FS_READ_FILE | LL_FS_EXECUTE |
	    LL_FS_READ_DIR);
	paths_add(sp, "/lib", LL_FS_READ_FILE | LL_FS_EXECUTE |
	    LL_FS_READ_DIR);
	paths_add(sp, "/lib64", LL_FS_READ_FILE | LL_FS_EXECUTE |
	    LL_FS_READ_DIR);
	if (SANDBOX_ASAN) {
		paths_add(sp, "/proc", ro);
		paths_add_sanitizer_logs(sp);
	}
}

static int
dir_writable(const struct sandbox_paths *sp, const char *dir)
{
	for (size_t i = 0; i < sp->n; i++)
		if (strcmp(sp->p[i], dir) == 0)
			return (sp->access[i] & LL_FS_MAKE_REG) != 0;
	return 0;
}

/* Whether the directory of path may get new files (path's and its
 * target's, as paths_add_dir_of granted them). */
int
sandbox_may_write(const struct proxy *px, const char *path)
{
	char buf[PATH_MAX], *d;
	int ok;

	if (px->sandbox == NULL)
		return 1;       /* no Landlock domain */
	if ((d = strdup(path)) == NULL)
		return 0;
	ok = dir_writable(px->sandbox, dirname(d));
	free(d);
	if (ok && realpath(path, buf) != NULL)
		ok = dir_writable(px->sandbox, dirname(buf));
	return ok;
}

void
sandbox_free(struct proxy *px)
{
	if (px->sandbox == NULL)
		return;
	paths_free(px->sandbox);
	free(px->sandbox);
	px->sandbox = NULL;
}

/* 0: in force (or not available, said in one line); -1 with err. */
static int
sandbox_landlock(struct proxy *px, const int *metrics_ports, size_t nmp,
    char *err, size_t errlen)
{
	struct ll_ruleset_attr attr = { 0 };
	struct sandbox_paths sp = { 0 };
	int abi, rfd = -1, net = 0, ret = -1;
	size_t attr_size;

	abi = (int)syscall(SYS_landlock_create_ruleset, NULL, 0,
	    LL_CREATE_RULESET_VERSION);
	if (abi < 0) {
		log_msg(px->log_format, "warning", "sandbox: Landlock is not "
		    "available here (%s); going on without it",
		    strerror(errno));
		return 0;
	}
	attr.handled_access_fs = LL_FS_V1;
	if (abi >= 2)
		attr.handled_access_fs |= LL_FS_REFER;
	if (abi >= 3)
		attr.handled_access_fs |= LL_FS_TRUNCATE;
	if (abi >= 5)
		attr.handled_access_fs |= LL_FS_IOCTL_DEV;
	/* The ports of a service of one do not change at a reload. */
	if (abi >= 4 && px->file == NULL) {
		attr.handled_access_net = LL_NET_BIND_TCP | LL_NET_CONNECT_TCP;
		net = 1;
	}
	attr_size = abi >= 4 ? sizeof(attr) :
	    sizeof(attr.handled_access_fs);
	rfd = (int)syscall(SYS_landlock_create_ruleset, &attr, attr_size, 0);
	if (rfd == -1) {
		snprintf(err, errlen, "Landlock: cannot create a ruleset: %s",
		    strerror(errno));
		return -1;
	}
	sandbox_paths(px, &sp);
	for (size_t i = 0; i < sp.n; i++) {
		if (ll_add_path(rfd, sp.p[i], sp.access[i],
		    attr.handled_access_fs) == -1) {
			snprintf(err, errlen, "Landlock: %s: %s", sp.p[i],
			    strerror(errno));
			goto out;
		}
	}
	for (size_t i = 0; net && i < px->nsvcs; i++) {
		const struct proxy_service *svc = px->svcs[i];
		for (size_t j = 0; j < svc->nlisten; j++)
			if (addr_port(&svc->listen[j]) != 0 &&
			    ll_add_port(rfd, LL_NET_BIND_TCP,
			    addr_port(&svc->listen[j])) == -1)
				goto net_fail;
		for (size_t j = 0; j < svc->ntarget; j++)
			if (addr_port(&svc->target[j]) != 0 &&
			    ll_add_port(rfd, LL_NET_CONNECT_TCP,
			    addr_port(&svc->target[j])) == -1)
				goto net_fail;
		if ((svc->opt.renew_from != NULL && ll_add_port(rfd,
		    LL_NET_CONNECT_TCP, url_port(svc->opt.renew_from)) == -1) ||
		    (svc->opt.crl_from != NULL && ll_add_port(rfd,
		    LL_NET_CONNECT_TCP, url_port(svc->opt.crl_from)) == -1))
			goto net_fail;
	}
	for (size_t i = 0; net && i < nmp; i++)
		if (ll_add_port(rfd, LL_NET_BIND_TCP, (unsigned)metrics_ports[i])
		    == -1)
			goto net_fail;
	if (syscall(SYS_landlock_restrict_self, rfd, 0) == -1) {
		snprintf(err, errlen, "Landlock: cannot restrict the process: "
		    "%s", strerror(errno));
		goto out;
	}
	log_msg(px->log_format, "info", "sandbox: Landlock ABI %d: files "
	    "read-only in %zu places%s", abi, sp.n, net ? "; TCP bind and "
	    "connect on the configured ports only" : abi >= 4 ? "; network "
	    "left to seccomp (a configuration file may add ports)" : "");
	/* Kept for sandbox_may_write: what a reload may still ask for. */
	if ((px->sandbox = malloc(sizeof(sp))) != NULL) {
		*px->sandbox = sp;
		sp.n = 0;
	}
	ret = 0;
	goto out;
net_fail:
	snprintf(err, errlen, "Landlock: a network rule: %s", strerror(errno));
out:
	paths_free(&sp);
	close(rfd);
	return ret;
}

static int
sandbox_add(scmp_filter_ctx ctx, const char *name)
{
	int nr = seccomp_syscall_resolve_name(name);

	if (nr == __NR_SCMP_ERROR)
		return 0; /* not on this architecture */
	return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
}

static int
sandbox_seccomp(struct proxy *px, char *err, size_t errlen)
{
	scmp_filter_ctx ctx;
	size_t n = 0;
	int rc;

	if (RUNNING_ON_VALGRIND) {
		log_msg(px->log_format, "info", "sandbox: no seccomp filter "
		    "under valgrind (it would catch valgrind's own system "
		    "calls)");
		return 0;
	}
	if ((ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM))) == NULL) {
		snprintf(err, errlen, "seccomp: cannot make a filter");
		return -1;
	}
	for (size_t i = 0; i < sizeof(sandbox_syscalls) /
	    sizeof(sandbox_syscalls[0]); i++, n++)
		if ((rc = sandbox_add(ctx, sandbox_syscalls[i])) < 0)
			goto fail;
#ifdef __SANITIZE_ADDRESS__
	for (size_t i = 0; i < sizeof(sandbox_syscalls_asan) /
	    sizeof(sandbox_syscalls_asan[0]); i++, n++)
		if ((rc = sandbox_add(ctx, sandbox_syscalls_asan[i])) < 0)
			goto fail;
#endif
	if ((rc = seccomp_load(ctx)) < 0)
		goto fail;
	seccomp_release(ctx);
	log_msg(px->log_format, "info", "sandbox: seccomp filter of %zu "
	    "system calls", n);
	return 0;
fail:
	snprintf(err, errlen, "seccomp: %s", strerror(-rc));
	seccomp_release(ctx);
	return -1;
}

int
sandbox_enter(struct proxy *px, const int *metrics_ports, size_t nmp,
    char *err, size_t errlen)
{
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1) {
		snprintf(err, errlen, "no_new_privs: %s", strerror(errno));
		return -1;
	}
	if (sandbox_landlock(px, metrics_ports, nmp, err, errlen) == -1 ||
	    sandbox_seccomp(px, err, errlen) == -1)
		return -1;
	return 0;
}
