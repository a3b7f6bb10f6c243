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

#include "core/internal.h"

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

/*
 * An unnamed file in path's directory (O_TMPFILE): if the process is killed
 * before it is linked in, nothing at all is left behind.  -1 where the file
 * system or kernel lacks O_TMPFILE; the caller then uses a named temp file.
 */
static int
open_unnamed(const char *path, mode_t mode)
{
#ifdef O_TMPFILE
	char dir[PATH_MAX];

	if (snprintf(dir, sizeof(dir), "%s", path) >= (int)sizeof(dir))
		return -1;
	return open(dirname(dir), O_TMPFILE | O_WRONLY | O_CLOEXEC,
	    mode & 0600);
#else
	(void)path;
	(void)mode;
	return -1;
#endif
}

/* Gives the unnamed file fd the name path; fails if path exists. */
static int
link_unnamed(int fd, const char *path)
{
	char proc[64];

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	if (linkat(AT_FDCWD, proc, AT_FDCWD, path, AT_SYMLINK_FOLLOW) == 0)
		return 0;
	if (errno == EEXIST)
		return -1;
	/* Without /proc: AT_EMPTY_PATH (needs CAP_DAC_READ_SEARCH). */
	return linkat(fd, "", AT_FDCWD, path, AT_EMPTY_PATH);
}

int
mtls_file_write_atomic(const char *path, const void *buf, size_t len,
    mode_t mode, int flags, struct mtls_error *err)
{
	char tmp[PATH_MAX];
	int fd = -1, ret = -1, named = 0;

	if (path == NULL || *path == '\0')
		return err_set(err, MTLS_ERR_USAGE, "empty output path");
	if (!(flags & MTLS_WRITE_FORCE) && file_exists(path))
		return err_set(err, MTLS_ERR_EXISTS,
		    "%s: file already exists",
		    path);
	if (snprintf(tmp, sizeof(tmp), "%s.tmp.XXXXXX", path) >=
	    (int)sizeof(tmp))
		return err_set(err, MTLS_ERR_USAGE, "%s: path too long", path);
	/* A new file is unnamed until complete; replacing one needs a name
	 * for rename(), so MTLS_WRITE_FORCE uses a named temp file (removed on any
	 * failure we see; a SIGKILL in that short window can leave it). */
	if (!(flags & MTLS_WRITE_FORCE))
		fd = open_unnamed(path, mode);
	if (fd == -1) {
		if ((fd = mkstemp(tmp)) == -1)
			return err_set(err, MTLS_ERR_IO, "%s: cannot create: %s",
			    path, strerror(errno));
		named = 1;
	}
	/* The file starts 0600; widen only for public files, after creation,
	 * so a key is never readable by others even for an instant. */
	if (fchmod(fd, mode) == -1 || write_all(fd, buf, len) == -1 ||
	    fsync(fd) == -1) {
		err_set(err, MTLS_ERR_IO, "%s: cannot write: %s", path,
		    strerror(errno));
		goto out;
	}
	if (!named) {
		if (link_unnamed(fd, path) == -1) {
			err_set(err, errno == EEXIST ? MTLS_ERR_EXISTS :
			    MTLS_ERR_IO, "%s: %s", path, errno == EEXIST ?
			    "file already exists" :
			    strerror(errno));
			goto out;
		}
	} else if (!(flags & MTLS_WRITE_FORCE)) {
		/* link() fails if path appeared meanwhile: never clobber a
		 * file that another process created after our check. */
		if (link(tmp, path) == -1) {
			err_set(err, errno == EEXIST ? MTLS_ERR_EXISTS :
			    MTLS_ERR_IO, "%s: %s", path, errno == EEXIST ?
			    "file already exists" :
			    strerror(errno));
			goto out;
		}
	} else if (rename(tmp, path) == -1) {
		err_set(err, MTLS_ERR_IO, "%s: cannot rename into place: %s",
		    path, strerror(errno));
		goto out;
	}
	if (close(fd) == -1) {
		fd = -1;
		err_set(err, MTLS_ERR_IO, "%s: cannot write: %s", path,
		    strerror(errno));
		goto out;
	}
	fd = -1;
	fsync_parent(path);
	ret = 0;
out:
	if (fd != -1)
		close(fd);
	/* The named temp file goes in every case: after link() it is a
	 * second name of the output, after rename() it no longer exists. */
	if (named)
		unlink(tmp);
	return ret;
}
