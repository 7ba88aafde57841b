/* kvmlab.cmd=<HEX>: shell quoting + hex encoding, and decoding. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "vmm/guest_cmd.h"

/* Encode argv, check the length helper agrees, decode again and compare
 * with the expected shell text. */
static void round_trip(const char *const *argv, int argc, const char *shell)
{
	char hex[1024], back[512];
	int n = guest_cmd_encode(argv, argc, hex, sizeof(hex));

	assert_int_equal(n, (int)strlen(shell) * 2);
	assert_int_equal(strlen(hex), (size_t)n);
	assert_int_equal(guest_cmd_encoded_len(argv, argc), (size_t)n);
	for (int i = 0; i < n; i++)
		assert_true((hex[i] >= '0' && hex[i] <= '9') || (hex[i] >= 'a' && hex[i] <= 'f'));
	assert_int_equal(guest_cmd_decode(hex, back, sizeof(back)), (int)strlen(shell));
	assert_string_equal(back, shell);
}

static void test_simple(void **state)
{
	const char *argv[] = {"echo", "hi"};
	char hex[64];

	(void)state;
	assert_int_equal(guest_cmd_encode(argv, 2, hex, sizeof(hex)), 22);
	/* 'echo' 'hi' */
	assert_string_equal(hex, "276563686f272027686927");
	round_trip(argv, 2, "'echo' 'hi'");
}

static void test_quotes_spaces_newlines(void **state)
{
	const char *a1[] = {"sh", "-c", "echo it's; exit 3"};
	const char *a2[] = {"printf", "a b\nc\td"};
	const char *a3[] = {"'"};
	const char *a4[] = {"x''y", "\"$HOME\" `id` \\"};

	(void)state;
	round_trip(a1, 3, "'sh' '-c' 'echo it'\\''s; exit 3'");
	round_trip(a2, 2, "'printf' 'a b\nc\td'");
	round_trip(a3, 1, "''\\'''");
	round_trip(a4, 2, "'x'\\'''\\''y' '\"$HOME\" `id` \\'");
}

static void test_empty_words(void **state)
{
	const char *a1[] = {"printf", "%s|", "", "b", ""};
	const char *a2[] = {""};

	(void)state;
	round_trip(a1, 5, "'printf' '%s|' '' 'b' ''");
	round_trip(a2, 1, "''");
}

static void test_high_bytes(void **state)
{
	const char *argv[] = {"echo", "\xc3\xa9\xff\x01"};
	char hex[64], back[32];

	(void)state;
	assert_int_equal(guest_cmd_encode(argv, 2, hex, sizeof(hex)), 26);
	assert_string_equal(hex, "276563686f2720" "27c3a9ff0127");
	assert_int_equal(guest_cmd_decode(hex, back, sizeof(back)), 13);
	assert_memory_equal(back, "'echo' '\xc3\xa9\xff\x01'", 14);
}

static void test_raw(void **state)
{
	char hex[64], back[32];

	(void)state;
	assert_int_equal(guest_cmd_encode_raw("echo hi; exit 3", hex, sizeof(hex)), 30);
	assert_string_equal(hex, "6563686f2068693b20657869742033");
	assert_int_equal(guest_cmd_decode(hex, back, sizeof(back)), 15);
	assert_string_equal(back, "echo hi; exit 3");
	assert_int_equal(guest_cmd_encode_raw("", hex, sizeof(hex)), -EINVAL);
	assert_int_equal(guest_cmd_encode_raw(NULL, hex, sizeof(hex)), -EINVAL);
	assert_int_equal(guest_cmd_encode_raw("ab", hex, 4), -ENOSPC);
	assert_string_equal(hex, "");
	assert_int_equal(guest_cmd_encode_raw("ab", hex, 5), 4);
	assert_string_equal(hex, "6162");
}

static void test_encode_enospc(void **state)
{
	const char *argv[] = {"ab", "c'd"};
	/* 'ab' 'c'\''d' = 13 bytes = 26 hex digits + NUL */
	char hex[64];

	(void)state;
	assert_int_equal(guest_cmd_encoded_len(argv, 2), 26);
	for (size_t len = 0; len < 27; len++) {
		memset(hex, 'X', sizeof(hex));
		assert_int_equal(guest_cmd_encode(argv, 2, hex, len), -ENOSPC);
		if (len)
			assert_int_equal(hex[0], '\0');
		assert_int_equal(hex[len], 'X'); /* nothing written past outlen */
	}
	assert_int_equal(guest_cmd_encode(argv, 2, hex, 27), 26);
	assert_string_equal(hex, "27616227202763275c27276427");
}

static void test_encode_einval(void **state)
{
	const char *argv[] = {"a", NULL};
	char hex[16];

	(void)state;
	assert_int_equal(guest_cmd_encode(argv, 0, hex, sizeof(hex)), -EINVAL);
	assert_int_equal(guest_cmd_encode(argv, -1, hex, sizeof(hex)), -EINVAL);
	assert_int_equal(guest_cmd_encode(NULL, 1, hex, sizeof(hex)), -EINVAL);
	assert_int_equal(guest_cmd_encode(argv, 2, hex, sizeof(hex)), -EINVAL);
	assert_int_equal(guest_cmd_encoded_len(argv, 2), 0);
	assert_int_equal(guest_cmd_encoded_len(argv, 0), 0);
	assert_int_equal(guest_cmd_encoded_len(NULL, 1), 0);
}

static void test_decode_bad_hex(void **state)
{
	char out[16];

	(void)state;
	assert_int_equal(guest_cmd_decode("616", out, sizeof(out)), -EINVAL);  /* odd */
	assert_int_equal(guest_cmd_decode("6g", out, sizeof(out)), -EINVAL);   /* not hex */
	assert_int_equal(guest_cmd_decode("61 62", out, sizeof(out)), -EINVAL); /* space */
	assert_int_equal(guest_cmd_decode("6100", out, sizeof(out)), -EINVAL); /* NUL byte */
	assert_int_equal(guest_cmd_decode("'61'", out, sizeof(out)), -EINVAL);
	assert_int_equal(guest_cmd_decode("-1", out, sizeof(out)), -EINVAL);
	assert_int_equal(guest_cmd_decode(NULL, out, sizeof(out)), -EINVAL);
	assert_string_equal(out, "");
	/* either case is accepted */
	assert_int_equal(guest_cmd_decode("4A4b", out, sizeof(out)), 2);
	assert_string_equal(out, "JK");
	/* empty: an empty string */
	assert_int_equal(guest_cmd_decode("", out, sizeof(out)), 0);
	assert_string_equal(out, "");
}

static void test_decode_enospc(void **state)
{
	char out[8];

	(void)state;
	memset(out, 'X', sizeof(out));
	assert_int_equal(guest_cmd_decode("616263", out, 3), -ENOSPC);
	assert_int_equal(out[0], '\0');
	assert_int_equal(out[3], 'X');
	assert_int_equal(guest_cmd_decode("616263", out, 0), -ENOSPC);
	assert_int_equal(guest_cmd_decode("616263", out, 4), 3);
	assert_string_equal(out, "abc");
	/* bad hex wins over too small */
	assert_int_equal(guest_cmd_decode("6g6263", out, 2), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_simple),
	    cmocka_unit_test(test_quotes_spaces_newlines),
	    cmocka_unit_test(test_empty_words),
	    cmocka_unit_test(test_high_bytes),
	    cmocka_unit_test(test_raw),
	    cmocka_unit_test(test_encode_enospc),
	    cmocka_unit_test(test_encode_einval),
	    cmocka_unit_test(test_decode_bad_hex),
	    cmocka_unit_test(test_decode_enospc),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
