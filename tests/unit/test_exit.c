/* exit decoder and handler on hand-made struct kvm_run. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "vmm/exit.h"

#define RUN_SIZE (3 * 4096)
static union {
	struct kvm_run run;
	uint8_t bytes[RUN_SIZE];
} page;

struct dev {
	int writes, reads;
	uint8_t last[8];
};

static void d_read(void *o, uint64_t off, uint8_t *data, uint32_t len)
{
	struct dev *d = o;
	(void)off;
	d->reads++;
	memset(data, 0x5a, len);
}

static void d_write(void *o, uint64_t off, const uint8_t *data, uint32_t len)
{
	struct dev *d = o;
	(void)off;
	d->writes++;
	memcpy(d->last, data, len > 8 ? 8 : len);
}

static const struct bus_ops dev_ops = {.name = "dev", .read = d_read, .write = d_write};

static void make_io(uint16_t port, uint8_t size, uint32_t count, int out, uint64_t off)
{
	memset(&page, 0, sizeof(page));
	page.run.exit_reason = KVM_EXIT_IO;
	page.run.io.port = port;
	page.run.io.size = size;
	page.run.io.count = count;
	page.run.io.direction = out ? KVM_EXIT_IO_OUT : KVM_EXIT_IO_IN;
	page.run.io.data_offset = off;
}

static void test_decode_io(void **state)
{
	struct vm_exit e;
	(void)state;
	make_io(0x3f8, 1, 1, 1, 4096);
	page.bytes[4096] = 'A';
	assert_int_equal(exit_decode(&page.run, RUN_SIZE, &e), 0);
	assert_int_equal(e.kind, EXIT_IO);
	assert_int_equal(e.io.port, 0x3f8);
	assert_int_equal(e.io.size, 1);
	assert_true(e.io.write);
	assert_int_equal(e.io.data[0], 'A');

	make_io(0x80, 3, 1, 1, 4096); /* size 3 */
	assert_int_equal(exit_decode(&page.run, RUN_SIZE, &e), -EINVAL);
	make_io(0x80, 4, 1, 1, RUN_SIZE - 2); /* data past the page */
	assert_int_equal(exit_decode(&page.run, RUN_SIZE, &e), -EINVAL);
	make_io(0x80, 4, 1, 1, RUN_SIZE - 4); /* last 4 bytes: fine */
	assert_int_equal(exit_decode(&page.run, RUN_SIZE, &e), 0);
	make_io(0x80, 4, 0x40000000, 0, 4096); /* rep count overflowing the page */
	assert_int_equal(exit_decode(&page.run, RUN_SIZE, &e), -EINVAL);
	make_io(0x80, 1, 1, 0, 8); /* inside the kvm_run header */
	assert_int_equal(exit_decode(&page.run, RUN_SIZE, &e), -EINVAL);
	make_io(0x80, 1, 0, 0, 4096);
	assert_int_equal(exit_decode(&page.run, RUN_SIZE, &e), -EINVAL);
}

static void test_decode_others(void **state)
{
	struct vm_exit e;
	(void)state;
	memset(&page, 0, sizeof(page));
	page.run.exit_reason = KVM_EXIT_MMIO;
	page.run.mmio.phys_addr = 0xd0000000;
	page.run.mmio.len = 4;
	assert_int_equal(exit_decode(&page.run, RUN_SIZE, &e), 0);
	assert_int_equal(e.kind, EXIT_MMIO);
	assert_int_equal(e.mmio.addr, 0xd0000000);
	assert_false(e.mmio.write);
	page.run.mmio.len = 9;
	assert_int_equal(exit_decode(&page.run, RUN_SIZE, &e), -EINVAL);

	page.run.exit_reason = KVM_EXIT_HLT;
	assert_int_equal(exit_decode(&page.run, RUN_SIZE, &e), 0);
	assert_int_equal(e.kind, EXIT_HLT);
	page.run.exit_reason = KVM_EXIT_SHUTDOWN;
	assert_int_equal(exit_decode(&page.run, RUN_SIZE, &e), 0);
	assert_int_equal(e.kind, EXIT_SHUTDOWN);
	page.run.exit_reason = KVM_EXIT_INTERNAL_ERROR;
	page.run.internal.suberror = KVM_INTERNAL_ERROR_EMULATION;
	assert_int_equal(exit_decode(&page.run, RUN_SIZE, &e), 0);
	assert_int_equal(e.kind, EXIT_INTERNAL_ERROR);
	assert_int_equal(e.hw.reason, KVM_INTERNAL_ERROR_EMULATION);
	page.run.exit_reason = 9999;
	assert_int_equal(exit_decode(&page.run, RUN_SIZE, &e), 0);
	assert_int_equal(e.kind, EXIT_OTHER);
	assert_int_equal(e.reason, 9999);
}

static void test_handle(void **state)
{
	struct bus pio, mmio;
	struct dev d = {0};
	struct exit_stats st;
	struct exit_ctx ctx = {.cpu = 0, .pio = &pio, .mmio = &mmio, .stats = &st};
	struct vm_exit e;
	char tbuf[512] = {0};
	(void)state;
	memset(&st, 0, sizeof(st));
	bus_init(&pio, "pio");
	bus_init(&mmio, "mmio");
	assert_int_equal(bus_register(&pio, 0x3f8, 8, &dev_ops, &d), 0);

	/* rep outsb of 3 bytes: three device writes, one exit */
	make_io(0x3f8, 1, 3, 1, 4096);
	memcpy(&page.bytes[4096], "xyz", 3);
	assert_int_equal(exit_decode(&page.run, RUN_SIZE, &e), 0);
	assert_int_equal(exit_handle(&e, &ctx), ACTION_CONTINUE);
	assert_int_equal(d.writes, 3);
	assert_int_equal(d.last[0], 'z');
	assert_int_equal(st.by_kind[EXIT_IO], 1);

	/* unclaimed port read: all ones, counted */
	make_io(0x510, 4, 1, 0, 4096);
	assert_int_equal(exit_decode(&page.run, RUN_SIZE, &e), 0);
	assert_int_equal(exit_handle(&e, &ctx), ACTION_CONTINUE);
	assert_memory_equal(&page.bytes[4096], "\xff\xff\xff\xff", 4);
	assert_int_equal(st.unclaimed_reads, 1);

	/* unclaimed MMIO write, traced */
	ctx.trace = fmemopen(tbuf, sizeof(tbuf), "w");
	memset(&page, 0, sizeof(page));
	page.run.exit_reason = KVM_EXIT_MMIO;
	page.run.mmio.phys_addr = 0xfee00000;
	page.run.mmio.len = 4;
	page.run.mmio.is_write = 1;
	page.run.mmio.data[0] = 0x34;
	page.run.mmio.data[1] = 0x12;
	assert_int_equal(exit_decode(&page.run, RUN_SIZE, &e), 0);
	assert_int_equal(exit_handle(&e, &ctx), ACTION_CONTINUE);
	fclose(ctx.trace);
	ctx.trace = NULL;
	assert_int_equal(st.unclaimed_writes, 1);
	assert_int_equal(st.by_kind[EXIT_MMIO], 1);
	assert_non_null(strstr(tbuf, "vcpu0 mmio write addr=0xfee00000 size=4 value=0x1234"));
	assert_non_null(strstr(tbuf, "unclaimed"));

	/* actions */
	page.run.exit_reason = KVM_EXIT_SHUTDOWN;
	exit_decode(&page.run, RUN_SIZE, &e);
	assert_int_equal(exit_handle(&e, &ctx), ACTION_SHUTDOWN);
	page.run.exit_reason = KVM_EXIT_HLT;
	exit_decode(&page.run, RUN_SIZE, &e);
	assert_int_equal(exit_handle(&e, &ctx), ACTION_HALT);
	page.run.exit_reason = KVM_EXIT_FAIL_ENTRY;
	exit_decode(&page.run, RUN_SIZE, &e);
	assert_int_equal(exit_handle(&e, &ctx), ACTION_FAIL);
	page.run.exit_reason = KVM_EXIT_SYSTEM_EVENT;
	page.run.system_event.type = KVM_SYSTEM_EVENT_RESET;
	exit_decode(&page.run, RUN_SIZE, &e);
	assert_int_equal(exit_handle(&e, &ctx), ACTION_RESET);
	page.run.exit_reason = KVM_EXIT_INTR;
	exit_decode(&page.run, RUN_SIZE, &e);
	assert_int_equal(exit_handle(&e, &ctx), ACTION_CONTINUE);
	assert_int_equal(st.by_kind[EXIT_HLT], 1);
	assert_int_equal(st.by_kind[EXIT_SHUTDOWN], 1);
	bus_destroy(&pio);
	bus_destroy(&mmio);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_decode_io),
	    cmocka_unit_test(test_decode_others),
	    cmocka_unit_test(test_handle),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
