/*
 * fuzz.h - what the libFuzzer targets of tests/fuzz share: the entry points
 * libFuzzer calls, a scratch directory in memory removed at exit, and the
 * few checks a target makes on what the code under test returned.
 *
 * Each target is one parser of untrusted input (see tests/fuzz/run.sh).  A
 * target never prints and never exits on bad input: it feeds the bytes to
 * the library, releases what it got, and calls abort() only when a property
 * that must always hold is broken, so that libFuzzer keeps the input.
 */
#ifndef MTLS_FUZZ_H
#define MTLS_FUZZ_H

#include <sys/stat.h>
#include <ftw.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* Fails the run with a message: a property of the code under test broke. */
#define FUZZ_ASSERT(cond)                                                   \
	do {                                                                \
		if (!(cond)) {                                              \
			fprintf(stderr, "%s:%d: property broken: %s\n",     \
			    __FILE__, __LINE__, #cond);                     \
			abort();                                            \
		}                                                           \
	} while (0)

static char fuzz_dir[64];

static inline int
fuzz_rm_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(path);
}

static inline void
fuzz_rm_dir(void)
{
	if (fuzz_dir[0] != '\0')
		(void)nftw(fuzz_dir, fuzz_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* A private directory in /dev/shm (memory: files written on every input
 * cost no disk), removed when the process exits. */
static inline const char *
fuzz_scratch_dir(void)
{
	if (fuzz_dir[0] != '\0')
		return fuzz_dir;
	snprintf(fuzz_dir, sizeof(fuzz_dir), "%s/mtls-fuzz.XXXXXX",
	    access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
	if (mkdtemp(fuzz_dir) == NULL) {
		perror(fuzz_dir);
		abort();
	}
	atexit(fuzz_rm_dir);
	return fuzz_dir;
}

/* Replaces path with len bytes of buf; aborts on an I/O error (the
 * machine's fault, not the input's). */
static inline void
fuzz_write_file(const char *path, const void *buf, size_t len)
{
	FILE *f = fopen(path, "wb");

	if (f == NULL || fwrite(buf, 1, len, f) != len || fclose(f) != 0) {
		perror(path);
		abort();
	}
}

#endif
