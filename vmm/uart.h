/* 8250/16550A UART model: register file, 64-byte receive FIFO, loopback,
 * and interrupt identification.  Transmitted bytes go to an output fd;
 * received bytes are pushed by the owner of the input (the main thread). */
#ifndef KVMLAB_VMM_UART_H
#define KVMLAB_VMM_UART_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "vmm/bus.h"
#include "vmm/irq.h"

#define UART_COM1_BASE 0x3f8
#define UART_NR_REGS   8
#define UART_RX_SIZE   64

struct uart {
	pthread_mutex_t lock;
	int out_fd; /* -1: output discarded */
	struct irq_line irq;
	bool irq_level;
	uint8_t ier, lcr, mcr, lsr, msr, scr, dll, dlm, fcr;
	bool thr_irq_pending; /* THR-empty interrupt waiting to be seen */
	uint8_t rx[UART_RX_SIZE];
	unsigned int rx_head, rx_count;
	uint64_t tx_bytes, rx_bytes;
};

/* Bus ops for the 8 registers starting at the base port. */
extern const struct bus_ops uart_ops;

/* Reset the UART: out_fd receives transmitted bytes (-1 to drop them), irq
 * may be NULL (polled UART).  Returns 0 or a negative errno. */
int uart_init(struct uart *u, int out_fd, const struct irq_line *irq);
void uart_destroy(struct uart *u);

/* Queue received bytes; returns how many fitted in the FIFO (0..n). */
unsigned int uart_rx_push(struct uart *u, const uint8_t *data, unsigned int n);

/* Free space in the receive FIFO. */
unsigned int uart_rx_room(struct uart *u);

#endif
