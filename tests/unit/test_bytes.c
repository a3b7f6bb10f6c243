/*
 * test_bytes.c - the bounded byte reader (src/lib/core/bytes.h): integers
 * in network order, every read refused past the end without moving the
 * cursor, and length-prefixed vectors that never reach past their reader.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/bytes.h"

static void
test_integers(void **state)
{
	(void)state;
	static const unsigned char in[] = { 0x01, 0x02, 0x03, 0x04, 0x05, 0x06,
	    0x07 };
	struct byte_reader r;
	unsigned v8, v16;
	uint32_t v32;
	size_t v;

	br_init(&r, in, sizeof(in));
	assert_int_equal(br_u8(&r, &v8), 0);
	assert_int_equal(v8, 0x01);
	assert_int_equal(br_u16(&r, &v16), 0);
	assert_int_equal(v16, 0x0203);
	assert_int_equal(br_u32(&r, &v32), 0);
	assert_int_equal(v32, 0x04050607);
	assert_int_equal(br_left(&r), 0);
	assert_int_equal(br_u8(&r, &v8), -1);
	assert_int_equal(br_uint(&r, 0, &v), -1);
	br_init(&r, in, sizeof(in));
	assert_int_equal(br_uint(&r, 5, &v), -1); /* wider than 4 bytes */
	assert_int_equal(br_uint(&r, 3, &v), 0);
	assert_int_equal(v, 0x010203);
}

static void
test_short_reads_keep_the_cursor(void **state)
{
	(void)state;
	static const unsigned char in[] = { 0xaa, 0xbb, 0xcc };
	struct byte_reader r;
	const unsigned char *b;
	uint32_t v32;

	br_init(&r, in, sizeof(in));
	assert_int_equal(br_skip(&r, 1), 0);
	assert_int_equal(br_u32(&r, &v32), -1);
	assert_int_equal(br_take(&r, 3, &b), -1);
	assert_int_equal(br_skip(&r, (size_t)-1), -1);
	assert_int_equal(r.off, 1);
	assert_int_equal(br_take(&r, 2, &b), 0);
	assert_ptr_equal(b, in + 1);
	assert_int_equal(br_left(&r), 0);
}

static void
test_vectors(void **state)
{
	(void)state;
	/* <2-byte length 3> 01 02 03, then <1-byte length 9> with 1 byte. */
	static const unsigned char in[] = { 0x00, 0x03, 0x01, 0x02, 0x03, 0x09,
	    0xff };
	struct byte_reader r, sub, inner;
	unsigned v;

	br_init(&r, in, sizeof(in));
	assert_int_equal(br_vec(&r, 2, &sub), 0);
	assert_int_equal(br_left(&sub), 3);
	assert_int_equal(br_u8(&sub, &v), 0);
	assert_int_equal(v, 1);
	/* A sub-reader ends where its vector ends, not where the input
	 * does. */
	assert_int_equal(br_sub(&sub, 3, &inner), -1);
	assert_int_equal(br_sub(&sub, 2, &inner), 0);
	assert_int_equal(br_left(&sub), 0);
	/* A length longer than what is left: refused, nothing consumed. */
	assert_int_equal(br_vec(&r, 1, &sub), -1);
	assert_int_equal(r.off, 5);
	assert_int_equal(br_left(&r), 2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_integers),
		cmocka_unit_test(test_short_reads_keep_the_cursor),
		cmocka_unit_test(test_vectors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
