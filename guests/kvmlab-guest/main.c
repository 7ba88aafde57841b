/* kvmlab-guest: the guest-side helper of kvmlab's default guest (a static
 * Linux program in the initramfs, see docs/guest.md).
 *
 *   kvmlab-guest mark N    write N to the boot-marker port 0x80
 *   kvmlab-guest exit V    write V to the debug-exit port 0xf4 (the VMM exits
 *                          with status V), once console output has drained
 *   kvmlab-guest cmd [F]   print the command passed as kvmlab.cmd=<HEX> on the
 *                          kernel command line (F, default /proc/cmdline)
 *   kvmlab-guest load-modules [LIST]
 *                          load DIR/NAME.ko for each NAME in LIST (default
 *                          /lib/modules/load-order, DIR its directory), in
 *                          order, in one process
 *   kvmlab-guest blk DEV [OPTIONS]
 *                          block-I/O load generator and verifier (blk.c)
 *   kvmlab-guest net MODE [OPTIONS]
 *                          TCP benchmark and transfer verifier (net.c)
 *   kvmlab-guest mem SIZE  touch SIZE of memory twice and time it (mem.c)
 *   kvmlab-guest hold SIZE SECONDS [free]
 *                          fill SIZE with per-page unique content, hold it
 *                          (or free it) for SECONDS (mem.c)
 *
 * Exit status: 0 success, 1 failure (for cmd: no command given), 2 bad usage
 * (for cmd: malformed hex).  New subcommands (load generators, ...) go into
 * the table `cmds` below. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/io.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

#include "blk.h"
#include "mem.h"
#include "net.h"
#include "vmm/guest_cmd.h"

#define PROG		"kvmlab-guest"
#define PORT_MARKER	0x80
#define PORT_DEBUG_EXIT 0xf4

#define EXIT_USAGE 2

#define DEFAULT_MODLIST "/lib/modules/load-order"

/* Longest wait for console output to drain before the debug exit. */
#define DRAIN_TIMEOUT_S 2

struct subcmd {
	const char *name;
	const char *args; /* synopsis of the arguments */
	const char *help; /* lines separated by \n */
	int min_args, max_args;
	int (*run)(int argc, char **argv); /* argv[0] is the subcommand */
};

static int cmd_mark(int argc, char **argv);
static int cmd_exit(int argc, char **argv);
static int cmd_cmd(int argc, char **argv);
static int cmd_load_modules(int argc, char **argv);
static int cmd_help(int argc, char **argv);

/* Options of blk: at most this many words. */
#define BLK_MAX_ARGS 64
/* Mode and options of net: at most this many words. */
#define NET_MAX_ARGS 64

static const struct subcmd cmds[] = {
    {"mark", "N", "write N (0-255) to the boot-marker port 0x80", 1, 1, cmd_mark},
    {"exit", "V",
     "write V (0-255) to the debug-exit port 0xf4: the VMM exits with status V;\n"
     "first waits (at most 2 s) until console output has been sent\n"
     "(returns, status 0, if nothing listens on the port)",
     1, 1, cmd_exit},
    {"cmd", "[FILE]",
     "print the command given as " GUEST_CMD_PARAM "=<HEX> in FILE (default\n"
     "/proc/cmdline); exit 1 if there is none, 2 if it is malformed",
     0, 1, cmd_cmd},
    {"load-modules", "[LIST]",
     "load DIR/NAME.ko for each line NAME of LIST (default\n" DEFAULT_MODLIST
     ", DIR its directory) in order; failures are\nwarnings (exit 0), an unreadable LIST an error",
     0, 1, cmd_load_modules},
    {"blk", "DEV [OPTIONS]",
     "block-I/O load generator (random or sequential reads/writes, io_uring or\n"
     "threads) and pattern verifier on a block device or file; one JSON line\n"
     "(" PROG " blk --help for the options)",
     0, BLK_MAX_ARGS, blk_main},
    {"net", "MODE [OPTIONS]",
     "TCP benchmark and transfer verifier: server, stream (parallel bulk\n"
     "streams), rr (request/response latency), send-file/recv-file (seeded\n"
     "pattern, every byte checked); one JSON line (" PROG " net --help)",
     0, NET_MAX_ARGS, net_main},
    {"mem", "SIZE",
     "map SIZE (256M, 1G, ...) of memory, write every page (the faults) and\n"
     "then every cache line (the steady state); one JSON line with both times",
     1, 1, mem_main},
    {"hold", "SIZE SECONDS [free]",
     "map SIZE of memory and fill it, no two pages alike but the same in every\n"
     "guest (what KSM can merge across identical guests); with free, unmap it\n"
     "again (memory a balloon can take); one JSON line, then sleep SECONDS",
     2, 3, hold_main},
    {"help", "", "this text (also --help, -h)", 0, 0, cmd_help},
};

#define NCMDS (sizeof(cmds) / sizeof(cmds[0]))

static void usage(FILE *f)
{
	fprintf(f, "Usage: " PROG " COMMAND [ARGS]\n\nCommands:\n");
	for (size_t i = 0; i < NCMDS; i++) {
		fprintf(f, "  %s%s%s\n      ", cmds[i].name, *cmds[i].args ? " " : "",
			cmds[i].args);
		for (const char *p = cmds[i].help; *p; p++) {
			if (*p == '\n')
				fputs("\n      ", f);
			else
				fputc(*p, f);
		}
		fputc('\n', f);
	}
	fprintf(f, "\nExit status: 0 success, 1 failure, 2 bad usage.\n");
}

static int cmd_help(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	usage(stdout);
	return fflush(stdout) ? 1 : 0;
}

/* A byte value: decimal, 0x-hex or 0-octal, 0..255. */
static int parse_byte(const char *what, const char *s, uint8_t *v)
{
	char *end;
	unsigned long n;

	errno = 0;
	n = strtoul(s, &end, 0);
	if (!*s || *end || errno || n > 255 || *s == '-' || *s == '+') {
		fprintf(stderr, PROG ": %s: expected a number 0-255, got '%s'\n", what, s);
		return -1;
	}
	*v = (uint8_t)n;
	return 0;
}

static int port_write(const char *what, uint16_t port, uint8_t v)
{
	if (ioperm(port, 1, 1)) {
		fprintf(stderr, PROG ": %s: ioperm(0x%x): %s\n", what, port, strerror(errno));
		return 1;
	}
	outb(v, port);
	return 0;
}

static int cmd_mark(int argc, char **argv)
{
	uint8_t v;

	(void)argc;
	if (parse_byte("mark", argv[1], &v))
		return EXIT_USAGE;
	return port_write("mark", PORT_MARKER, v);
}

static void on_alarm(int sig)
{
	(void)sig; /* only interrupts tcdrain */
}

/* Wait until what was written to the console (and to stdout/stderr, if
 * they are terminals) has left the UART: the serial driver sends from its
 * buffer by interrupts, and the debug exit would otherwise cut the last
 * output of the command.  Bounded, in case the UART never interrupts. */
static void drain_console(void)
{
	struct sigaction sa = {.sa_handler = on_alarm}; /* no SA_RESTART */
	int fd;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	alarm(DRAIN_TIMEOUT_S);
	for (int i = 1; i <= 2; i++)
		if (isatty(i) && tcdrain(i) && errno == EINTR)
			goto out;
	fd = open("/dev/console", O_WRONLY | O_NOCTTY | O_CLOEXEC);
	if (fd >= 0) {
		tcdrain(fd);
		close(fd);
	}
out:
	alarm(0);
}

static int cmd_exit(int argc, char **argv)
{
	uint8_t v;

	(void)argc;
	if (parse_byte("exit", argv[1], &v))
		return EXIT_USAGE;
	fflush(NULL);
	drain_console();
	return port_write("exit", PORT_DEBUG_EXIT, v);
}

/* The whole of a (small, possibly unseekable) file, NUL-terminated. */
static char *read_all(const char *path)
{
	FILE *f = fopen(path, "r");
	size_t len = 0, cap = 4096;
	char *buf = NULL, *nb;
	int e;

	if (!f)
		return NULL;
	for (;;) {
		size_t n;
		if (!(nb = realloc(buf, cap + 1)))
			break;
		buf = nb;
		n = fread(buf + len, 1, cap - len, f);
		len += n;
		if (len < cap) {
			if (ferror(f))
				break;
			buf[len] = '\0';
			fclose(f);
			return buf;
		}
		cap *= 2;
	}
	e = errno ? errno : EIO;
	free(buf);
	fclose(f);
	errno = e;
	return NULL;
}

static int cmd_cmd(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : "/proc/cmdline";
	const size_t plen = strlen(GUEST_CMD_PARAM "=");
	char *line, *tok, *save, *hex = NULL, *out;
	int n, ret;

	if (!(line = read_all(path))) {
		fprintf(stderr, PROG ": cmd: %s: %s\n", path, strerror(errno));
		return 1;
	}
	/* The last kvmlab.cmd= wins, as for kernel parameters. */
	for (tok = strtok_r(line, " \t\n", &save); tok; tok = strtok_r(NULL, " \t\n", &save))
		if (!strncmp(tok, GUEST_CMD_PARAM "=", plen))
			hex = tok + plen;
	if (!hex || !*hex) {
		free(line);
		return 1; /* no command: not an error worth a message */
	}
	out = malloc(strlen(hex) / 2 + 1);
	if (!out) {
		fprintf(stderr, PROG ": cmd: out of memory\n");
		free(line);
		return 1;
	}
	n = guest_cmd_decode(hex, out, strlen(hex) / 2 + 1);
	if (n < 0) {
		fprintf(stderr, PROG ": cmd: malformed " GUEST_CMD_PARAM "=%.40s%s (%s)\n", hex,
			strlen(hex) > 40 ? "..." : "", strerror(-n));
		ret = EXIT_USAGE;
	} else if (fwrite(out, 1, (size_t)n, stdout) != (size_t)n || fflush(stdout)) {
		fprintf(stderr, PROG ": cmd: write: %s\n", strerror(errno));
		ret = 1;
	} else {
		ret = 0;
	}
	free(out);
	free(line);
	return ret;
}

/* Modules by finit_module(2), one process for all (busybox insmod would be
 * one process each).  Already loaded is fine; anything else is a warning:
 * the guest should still boot. */
static int cmd_load_modules(int argc, char **argv)
{
	const char *list = argc > 1 ? argv[1] : DEFAULT_MODLIST;
	char *text, *dir, *copy, *name, *save;

	if (!(text = read_all(list))) {
		fprintf(stderr, PROG ": load-modules: %s: %s\n", list, strerror(errno));
		return 1;
	}
	if (!(copy = strdup(list))) {
		fprintf(stderr, PROG ": load-modules: out of memory\n");
		free(text);
		return 1;
	}
	dir = dirname(copy);
	/* One name a line; blank lines and # comments are skipped. */
	for (name = strtok_r(text, "\n", &save); name; name = strtok_r(NULL, "\n", &save)) {
		char path[4096];
		size_t len;
		int fd;

		name += strspn(name, " \t");
		len = strcspn(name, " \t#");
		if (!len)
			continue;
		name[len] = '\0';
		snprintf(path, sizeof(path), "%s/%s.ko", dir, name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			fprintf(stderr, PROG ": load-modules: warning: %s: %s\n", path,
				strerror(errno));
			continue;
		}
		if (syscall(SYS_finit_module, fd, "", 0) && errno != EEXIST)
			fprintf(stderr, PROG ": load-modules: warning: %s: %s\n", name,
				strerror(errno));
		close(fd);
	}
	free(copy);
	free(text);
	return 0;
}

int main(int argc, char **argv)
{
	const char *name;

	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	name = argv[1];
	if (!strcmp(name, "--help") || !strcmp(name, "-h"))
		name = "help";
	for (size_t i = 0; i < NCMDS; i++) {
		const struct subcmd *c = &cmds[i];
		int nargs = argc - 2;

		if (strcmp(name, c->name))
			continue;
		if (nargs < c->min_args || nargs > c->max_args) {
			fprintf(stderr, PROG ": %s: %s (usage: " PROG " %s %s)\n", c->name,
				nargs < c->min_args ? "missing argument" : "too many arguments",
				c->name, c->args);
			return EXIT_USAGE;
		}
		return c->run(argc - 1, argv + 1);
	}
	fprintf(stderr, PROG ": unknown command '%s' (try " PROG " --help)\n", argv[1]);
	return EXIT_USAGE;
}
