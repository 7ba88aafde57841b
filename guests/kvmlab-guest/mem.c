/* kvmlab-guest mem (see mem.h). */
#include "mem.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "blk.h"

/* One store per 4 KiB page on the first pass is what faults; the second
 * pass writes one byte per 64-byte line, so it walks the memory the way a
 * memory-bound program does. */
#define PAGE_STRIDE 4096u
#define LINE_STRIDE 64u

uint64_t mem_touch(volatile uint8_t *p, size_t len, size_t stride, unsigned int pass)
{
	uint64_t sum = 0;

	for (size_t i = 0; i < len; i += stride) {
		p[i] = (uint8_t)(i / stride + pass);
		sum += p[i];
	}
	return sum;
}

static double now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

int mem_main(int argc, char **argv)
{
	uint64_t size;
	double t0, t1, t2;
	uint64_t sum;
	void *p;

	if (argc != 2 || blk_parse_size(argv[1], &size) || size == 0 || size > (SIZE_MAX >> 1)) {
		fprintf(stderr, "kvmlab-guest mem: usage: mem SIZE (a byte count such as 256M)\n");
		return 2;
	}
	p = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		fprintf(stderr, "kvmlab-guest mem: mmap %llu bytes: %s\n", (unsigned long long)size,
			strerror(errno));
		return 1;
	}
	t0 = now_ms();
	sum = mem_touch(p, (size_t)size, PAGE_STRIDE, 1);
	t1 = now_ms();
	sum += mem_touch(p, (size_t)size, LINE_STRIDE, 2);
	t2 = now_ms();
	munmap(p, (size_t)size);
	printf("{\"tool\":\"kvmlab-guest mem\",\"bytes\":%llu,\"first_touch_ms\":%.3f,"
	       "\"second_pass_ms\":%.3f,\"first_touch_mbps\":%.1f,\"second_pass_mbps\":%.1f,"
	       "\"sum\":%llu}\n",
	       (unsigned long long)size, t1 - t0, t2 - t1,
	       t1 > t0 ? (double)size / 1e6 / ((t1 - t0) / 1e3) : 0.0,
	       t2 > t1 ? (double)size / 1e6 / ((t2 - t1) / 1e3) : 0.0, (unsigned long long)sum);
	return fflush(stdout) ? 1 : 0;
}

void mem_fill_unique(uint64_t *p, size_t words)
{
	/* word j of page k holds (k, j) mixed: no two pages alike, the same
	 * in every guest that fills the same size */
	for (size_t i = 0; i < words; i++)
		p[i] = (i + 1) * 0x9e3779b97f4a7c15ull;
}

int hold_main(int argc, char **argv)
{
	uint64_t size;
	unsigned long secs;
	char *end = NULL;
	bool do_free = false;
	double t0, t1;
	void *p;

	if (argc == 4 && !strcmp(argv[3], "free"))
		do_free = true;
	if (argc >= 3) {
		errno = 0;
		secs = strtoul(argv[2], &end, 10);
	}
	if ((argc != 3 && !do_free) || blk_parse_size(argv[1], &size) || size == 0 ||
	    size > (SIZE_MAX >> 1) || !end || *end || errno || secs > 86400) {
		fprintf(stderr, "kvmlab-guest hold: usage: hold SIZE SECONDS [free]\n");
		return 2;
	}
	p = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		fprintf(stderr, "kvmlab-guest hold: mmap %llu bytes: %s\n",
			(unsigned long long)size, strerror(errno));
		return 1;
	}
	t0 = now_ms();
	mem_fill_unique(p, (size_t)size / sizeof(uint64_t));
	t1 = now_ms();
	if (do_free)
		munmap(p, (size_t)size);
	printf("{\"tool\":\"kvmlab-guest hold\",\"bytes\":%llu,\"fill_ms\":%.3f,"
	       "\"freed\":%s,\"seconds\":%lu}\n",
	       (unsigned long long)size, t1 - t0, do_free ? "true" : "false", secs);
	if (fflush(stdout))
		return 1;
	sleep((unsigned int)secs);
	return 0;
}
