/*
 * file.c - reading inputs with a size bound, and writing outputs so that
 * nothing is ever half-written: a temp file beside the target, fsync,
 * rename, then fsync of the directory.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "internal.h"

void
mtls_cleanse(void *buf, size_t len)
{
	if (buf != NULL && len > 0)
		OPENSSL_cleanse(buf, len);
}

int
file_exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

int
file_read(const char *path, size_t max, char **out, size_t *outlen,
    struct mtls_error *err)
{
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	int fd, ret = -1;

	*out = NULL;
	*outlen = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return err_set(err, MTLS_ERR_IO, "%s: %s", path,
		    strerror(errno));
	if (fstat(fd, &st) == -1) {
		err_set(err, MTLS_ERR_IO, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		err_set(err, MTLS_ERR_IO, "%s: is a directory", path);
		goto out;
	}
	if (S_ISREG(st.st_mode) && (size_t)st.st_size > max) {
		err_set(err, MTLS_ERR_PARSE, "%s: file too large (%lld bytes, "
		    "limit %zu)", path, (long long)st.st_size, max);
		goto out;
	}
	/* Read until EOF rather than trusting st_size: the file may be a pipe
	 * (/dev/stdin) or may change under us. */
	size_t cap = S_ISREG(st.st_mode) ? (size_t)st.st_size + 1 : 4096;
	if ((buf = malloc(cap)) == NULL) {
		err_set(err, MTLS_ERR_NOMEM, "%s: out of memory", path);
		goto out;
	}
	for (;;) {
		if (len + 1 >= cap) {
			if (cap > max) {
				err_set(err, MTLS_ERR_PARSE,
				    "%s: file too large (limit %zu bytes)",
				    path, max);
				goto out;
			}
			char *nb = malloc(cap * 2);
			if (nb == NULL) {
				err_set(err, MTLS_ERR_NOMEM,
				    "%s: out of memory", path);
				goto out;
			}
			memcpy(nb, buf, len);
			mtls_cleanse(buf, len);
			free(buf);
			buf = nb;
			cap *= 2;
		}
		ssize_t n = read(fd, buf + len, cap - len - 1);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			err_set(err, MTLS_ERR_IO, "%s: %s", path,
			    strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	*out = buf;
	*outlen = len;
	buf = NULL;
	ret = 0;
out:
	if (buf != NULL) {
		mtls_cleanse(buf, len);
		free(buf);
	}
	close(fd);
	return ret;
}

void
file_free(char *buf, size_t len)
{
	if (buf == NULL)
		return;
	mtls_cleanse(buf, len);
	free(buf);
}

static int
write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static void
fsync_parent(const char *path)
{
	char copy[PATH_MAX];

	if (snprintf(copy, sizeof(copy), "%s", path) >= (int)sizeof(copy))
		return;
	int dfd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd == -1)
		return;
	(void)fsync(dfd);
	close(dfd);
}

int
mtls_file_write_atomic(const char *path, const void *buf, size_t len,
    mode_t mode, int flags, struct mtls_error *err)
{
	char tmp[PATH_MAX];
	int fd = -1, ret = -1, saved;

	if (path == NULL || *path == '\0')
		return err_set(err, MTLS_ERR_USAGE, "empty output path");
	if (!(flags & MTLS_WRITE_FORCE) && file_exists(path))
		return err_set(err, MTLS_ERR_EXISTS,
		    "%s: file already exists (use --force to replace it)",
		    path);
	if (snprintf(tmp, sizeof(tmp), "%s.tmp.XXXXXX", path) >=
	    (int)sizeof(tmp))
		return err_set(err, MTLS_ERR_USAGE, "%s: path too long", path);
	if ((fd = mkstemp(tmp)) == -1)
		return err_set(err, MTLS_ERR_IO, "%s: cannot create: %s", path,
		    strerror(errno));
	/* mkstemp makes 0600; widen only for public files, after creation,
	 * so a key is never readable by others even for an instant. */
	if (fchmod(fd, mode) == -1 || write_all(fd, buf, len) == -1 ||
	    fsync(fd) == -1) {
		saved = errno;
		err_set(err, MTLS_ERR_IO, "%s: cannot write: %s", path,
		    strerror(saved));
		goto out;
	}
	if (close(fd) == -1) {
		fd = -1;
		err_set(err, MTLS_ERR_IO, "%s: cannot write: %s", path,
		    strerror(errno));
		goto out;
	}
	fd = -1;
	if (!(flags & MTLS_WRITE_FORCE)) {
		/* link() fails if path appeared meanwhile: never clobber a
		 * file that another process created after our check. */
		if (link(tmp, path) == -1) {
			err_set(err, errno == EEXIST ? MTLS_ERR_EXISTS :
			    MTLS_ERR_IO, "%s: %s", path, errno == EEXIST ?
			    "file already exists (use --force to replace it)" :
			    strerror(errno));
			goto out;
		}
		unlink(tmp);
	} else if (rename(tmp, path) == -1) {
		err_set(err, MTLS_ERR_IO, "%s: cannot rename into place: %s",
		    path, strerror(errno));
		goto out;
	}
	fsync_parent(path);
	ret = 0;
out:
	if (fd != -1)
		close(fd);
	if (ret != 0)
		unlink(tmp);
	return ret;
}
