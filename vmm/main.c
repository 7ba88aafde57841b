/* kvmlab entry point: parse, build, run, exit.  Only main decides to exit. */
#include <stdio.h>
#include <string.h>

#include "kvmlab_config.h"
#include "vmm/bench.h"
#include "vmm/cli.h"
#include "vmm/clock.h"
#include "vmm/ctl.h"
#include "vmm/vm.h"

#define EXIT_USAGE 2

int main(int argc, char **argv)
{
	uint64_t t0 = clock_ns();
	struct config cfg;
	struct vm vm;
	char err[512];
	int r;

	/* "kvmlab ctl ...": a client of a running kvmlab, not a VM */
	if (argc > 1 && !strcmp(argv[1], "ctl"))
		return ctl_main(argc - 1, argv + 1);
	/* "kvmlab bench ...": runs kvmlab (and peers) over a matrix */
	if (argc > 1 && !strcmp(argv[1], "bench"))
		return bench_main(argc - 1, argv + 1);
	r = cli_parse(argc, argv, &cfg, err, sizeof(err));
	switch (r) {
	case CLI_HELP:
		fputs(cli_usage, stdout);
		return 0;
	case CLI_RUN_HELP:
		fputs(cli_run_usage, stdout);
		return 0;
	case CLI_VERSION:
		printf("kvmlab %s\n", KVMLAB_VERSION);
		return 0;
	case CLI_RUN:
		break;
	default:
		fprintf(stderr, "kvmlab: %s\n", err);
		return EXIT_USAGE;
	}
	/* Unbuffered stderr keeps traces and messages in order with the guest. */
	setvbuf(stderr, NULL, _IONBF, 0);
	if (cfg.mem.warning[0])
		fprintf(stderr, "kvmlab: warning: %s\n", cfg.mem.warning);
	r = vm_create(&vm, &cfg, t0, err, sizeof(err));
	if (r) {
		fprintf(stderr, "kvmlab: %s\n", err[0] ? err : strerror(-r));
		vm_destroy(&vm);
		return EXIT_USAGE;
	}
	r = vm_run(&vm);
	vm_destroy(&vm);
	return r;
}
