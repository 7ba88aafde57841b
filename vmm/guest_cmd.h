/* The command a guest runs, passed on the kernel command line as
 * kvmlab.cmd=<HEX>: the bytes of a shell command string, lowercase hex.
 *
 * The VMM encodes (argv words shell-quoted, or a raw shell string); the
 * default guest's /init decodes with `kvmlab-guest cmd` and runs the result
 * with `sh -c`.  Hex needs no quoting on the kernel command line, and a
 * parameter with a dot is neither interpreted by the kernel nor passed to
 * init as an argument or environment variable.  Pure functions, shared by the
 * VMM and guests/kvmlab-guest (see docs/guest.md). */
#ifndef KVMLAB_VMM_GUEST_CMD_H
#define KVMLAB_VMM_GUEST_CMD_H

#include <stddef.h>

/* The kernel command-line parameter carrying the command (without "="). */
#define GUEST_CMD_PARAM "kvmlab.cmd"

/* The number of hex digits guest_cmd_encode produces for argv[0..argc)
 * (excluding the NUL), or 0 if argc < 1 or an argument is NULL. */
size_t guest_cmd_encoded_len(const char *const *argv, int argc);

/* Shell-quote each of argv[0..argc) in single quotes (a ' inside a word
 * becomes '\''; an empty word becomes ''), join them with single spaces and
 * write the hex encoding of the result, NUL-terminated, to out.
 * Returns the number of hex digits written (excluding the NUL), -EINVAL if
 * argc < 1 or an argument is NULL, -ENOSPC if out (outlen bytes including
 * the NUL) is too small; on error out holds "" when outlen > 0. */
int guest_cmd_encode(const char *const *argv, int argc, char *out, size_t outlen);

/* Hex-encode the shell command string cmd as it is (no quoting); same
 * returns as guest_cmd_encode (-EINVAL if cmd is NULL or empty). */
int guest_cmd_encode_raw(const char *cmd, char *out, size_t outlen);

/* Decode the NUL-terminated hex string hex (either case) into out,
 * NUL-terminated.  Returns the number of bytes decoded (excluding the NUL),
 * -EINVAL if hex is NULL, has an odd length or a non-hex digit, or encodes a
 * NUL byte, -ENOSPC if out (outlen bytes including the NUL) is too small; on
 * error out holds "" when outlen > 0. */
int guest_cmd_decode(const char *hex, char *out, size_t outlen);

#endif
