/* UART register model: THR output, RX FIFO, IIR priorities, loopback
 * (the Linux 8250 probe), scratch, divisor latch, interrupt line. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "vmm/uart.h"

static int level, changes;

static void set_level(void *o, unsigned int gsi, int l)
{
	(void)o;
	assert_int_equal(gsi, 4);
	level = l;
	changes++;
}

static uint8_t rd(struct uart *u, unsigned reg)
{
	uint8_t v;
	uart_ops.read(u, reg, &v, 1);
	return v;
}

static void wr(struct uart *u, unsigned reg, uint8_t v)
{
	uart_ops.write(u, reg, &v, 1);
}

static void test_tx_to_fd(void **state)
{
	struct uart u;
	int p[2];
	char buf[8] = {0};
	(void)state;
	assert_int_equal(pipe(p), 0);
	assert_int_equal(uart_init(&u, p[1], NULL), 0);
	assert_int_equal(rd(&u, 5) & 0x60, 0x60); /* THRE | TEMT */
	wr(&u, 0, 'o');
	wr(&u, 0, 'k');
	assert_int_equal(read(p[0], buf, sizeof(buf)), 2);
	assert_string_equal(buf, "ok");
	/* with DLAB set, offset 0/1 are the divisor latch, not THR/IER */
	wr(&u, 3, 0x80);
	wr(&u, 0, 0x0c);
	wr(&u, 1, 0x00);
	assert_int_equal(rd(&u, 0), 0x0c);
	wr(&u, 3, 0x03);
	assert_int_equal(rd(&u, 3), 0x03);
	assert_int_equal(rd(&u, 1), 0); /* IER untouched */
	/* scratch */
	wr(&u, 7, 0x5a);
	assert_int_equal(rd(&u, 7), 0x5a);
	uart_destroy(&u);
	close(p[0]);
	close(p[1]);
}

static void test_rx_and_irq(void **state)
{
	struct uart u;
	struct irq_line irq = {.set_level = set_level, .gsi = 4};
	uint8_t many[100];
	(void)state;
	level = changes = 0;
	assert_int_equal(uart_init(&u, -1, &irq), 0);
	assert_int_equal(rd(&u, 2) & 0x0f, 0x01); /* no interrupt */
	assert_int_equal(uart_rx_push(&u, (const uint8_t *)"ab", 2), 2);
	assert_int_equal(level, 0); /* RDI not enabled */
	assert_int_equal(rd(&u, 5) & 1, 1);
	wr(&u, 1, 0x01); /* enable RDI */
	assert_int_equal(level, 1);
	assert_int_equal(rd(&u, 2) & 0x0f, 0x04);
	assert_int_equal(rd(&u, 0), 'a');
	assert_int_equal(rd(&u, 0), 'b');
	assert_int_equal(rd(&u, 5) & 1, 0);
	assert_int_equal(level, 0);
	/* THRI: raised when enabled, acknowledged by reading IIR, raised again by a write */
	wr(&u, 1, 0x03);
	assert_int_equal(level, 1);
	assert_int_equal(rd(&u, 2) & 0x0f, 0x02);
	assert_int_equal(level, 0);
	assert_int_equal(rd(&u, 2) & 0x0f, 0x01);
	wr(&u, 0, 'x');
	assert_int_equal(level, 1);
	/* RDI has priority over THRI */
	uart_rx_push(&u, (const uint8_t *)"z", 1);
	assert_int_equal(rd(&u, 2) & 0x0f, 0x04);
	/* FIFO bounded */
	memset(many, 'q', sizeof(many));
	assert_int_equal(uart_rx_room(&u), UART_RX_SIZE - 1);
	assert_int_equal(uart_rx_push(&u, many, sizeof(many)), UART_RX_SIZE - 1);
	assert_int_equal(uart_rx_room(&u), 0);
	/* FCR clears RX and enables FIFO bits in IIR */
	wr(&u, 2, 0x07);
	assert_int_equal(uart_rx_room(&u), UART_RX_SIZE);
	assert_int_equal(rd(&u, 2) & 0xc0, 0xc0);
	uart_destroy(&u);
}

static void test_loopback_probe(void **state)
{
	struct uart u;
	int p[2];
	char c;
	(void)state;
	assert_int_equal(pipe(p), 0);
	uart_init(&u, p[1], NULL);
	/* Linux 8250 autoconfig: MCR = LOOP | OUT2 | RTS must read MSR & 0xf0 == 0x90 */
	wr(&u, 4, 0x10 | 0x0a);
	assert_int_equal(rd(&u, 6) & 0xf0, 0x90);
	/* in loopback, transmitted bytes come back and do not reach the output */
	wr(&u, 0, 'L');
	assert_int_equal(rd(&u, 5) & 1, 1);
	assert_int_equal(rd(&u, 0), 'L');
	wr(&u, 4, 0x08);
	wr(&u, 0, 'M');
	assert_int_equal(read(p[0], &c, 1), 1);
	assert_int_equal(c, 'M');
	uart_destroy(&u);
	close(p[0]);
	close(p[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_tx_to_fd),
	    cmocka_unit_test(test_rx_and_irq),
	    cmocka_unit_test(test_loopback_probe),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
