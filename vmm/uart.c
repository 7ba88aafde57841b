/* 16550A UART register model. */
#include "vmm/uart.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

/* Register offsets */
enum { RBR_THR = 0, IER = 1, IIR_FCR = 2, LCR = 3, MCR = 4, LSR = 5, MSR = 6, SCR = 7 };

#define IER_RDI	 0x01 /* received data available */
#define IER_THRI 0x02 /* transmitter holding register empty */
#define IER_RLSI 0x04 /* receiver line status */
#define IER_MSI	 0x08 /* modem status */

#define IIR_NO_INT 0x01
#define IIR_MSI	   0x00
#define IIR_THRI   0x02
#define IIR_RDI	   0x04
#define IIR_FIFO   0xc0 /* FIFOs enabled (16550A) */

#define FCR_ENABLE   0x01
#define FCR_CLEAR_RX 0x02

#define LCR_DLAB 0x80

#define MCR_DTR	 0x01
#define MCR_RTS	 0x02
#define MCR_OUT1 0x04
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10

#define LSR_DR	 0x01
#define LSR_THRE 0x20
#define LSR_TEMT 0x40

#define MSR_DELTA 0x0f
#define MSR_CTS	  0x10
#define MSR_DSR	  0x20
#define MSR_RI	  0x40
#define MSR_DCD	  0x80

int uart_init(struct uart *u, int out_fd, const struct irq_line *irq)
{
	memset(u, 0, sizeof(*u));
	u->out_fd = out_fd;
	if (irq)
		u->irq = *irq;
	u->lsr = LSR_THRE | LSR_TEMT;
	u->msr = MSR_DCD | MSR_DSR | MSR_CTS;
	u->mcr = MCR_OUT2;
	return -pthread_mutex_init(&u->lock, NULL);
}

void uart_destroy(struct uart *u)
{
	pthread_mutex_destroy(&u->lock);
}

/* Highest-priority pending interrupt, as IIR reports it (without FIFO bits). */
static uint8_t pending_iir(const struct uart *u)
{
	if ((u->ier & IER_RDI) && u->rx_count > 0)
		return IIR_RDI;
	if ((u->ier & IER_THRI) && u->thr_irq_pending)
		return IIR_THRI;
	if ((u->ier & IER_MSI) && (u->msr & MSR_DELTA))
		return IIR_MSI;
	return IIR_NO_INT;
}

/* Recompute the interrupt line; called with the lock held. */
static void update_irq(struct uart *u)
{
	bool level = pending_iir(u) != IIR_NO_INT;

	if (level != u->irq_level) {
		u->irq_level = level;
		irq_set(&u->irq, level);
	}
}

static void rx_put(struct uart *u, uint8_t b)
{
	if (u->rx_count == UART_RX_SIZE)
		return; /* overrun: the byte is lost, as on hardware */
	u->rx[(u->rx_head + u->rx_count) % UART_RX_SIZE] = b;
	u->rx_count++;
	u->lsr |= LSR_DR;
}

static uint8_t rx_get(struct uart *u)
{
	uint8_t b;

	if (u->rx_count == 0)
		return 0;
	b = u->rx[u->rx_head];
	u->rx_bytes++;
	u->rx_head = (u->rx_head + 1) % UART_RX_SIZE;
	if (--u->rx_count == 0)
		u->lsr &= ~LSR_DR;
	return b;
}

/* MSR as the driver sees it: in loopback the modem inputs mirror MCR. */
static uint8_t read_msr(struct uart *u)
{
	uint8_t v;

	if (u->mcr & MCR_LOOP) {
		v = (u->mcr & MCR_RTS ? MSR_CTS : 0) | (u->mcr & MCR_DTR ? MSR_DSR : 0) |
		    (u->mcr & MCR_OUT1 ? MSR_RI : 0) | (u->mcr & MCR_OUT2 ? MSR_DCD : 0);
		return v;
	}
	v = u->msr;
	u->msr &= ~MSR_DELTA; /* reading clears the delta bits */
	return v;
}

static void transmit(struct uart *u, uint8_t b)
{
	if (u->mcr & MCR_LOOP) {
		rx_put(u, b);
	} else if (u->out_fd >= 0) {
		ssize_t r;
		do {
			r = write(u->out_fd, &b, 1);
		} while (r < 0 && errno == EINTR);
		u->tx_bytes++;
	}
	/* The transmitter empties at once, so THR is free again. */
	u->thr_irq_pending = true;
}

static uint8_t reg_read(struct uart *u, uint64_t reg)
{
	uint8_t v = 0;

	switch (reg) {
	case RBR_THR:
		if (u->lcr & LCR_DLAB)
			return u->dll;
		v = rx_get(u);
		break;
	case IER:
		return u->lcr & LCR_DLAB ? u->dlm : u->ier;
	case IIR_FCR:
		v = pending_iir(u);
		if (v == IIR_THRI)
			u->thr_irq_pending = false; /* reading IIR acknowledges THRE */
		v |= (u->fcr & FCR_ENABLE) ? IIR_FIFO : 0;
		break;
	case LCR:
		return u->lcr;
	case MCR:
		return u->mcr;
	case LSR:
		return u->lsr;
	case MSR:
		v = read_msr(u);
		break;
	case SCR:
		return u->scr;
	}
	return v;
}

static void reg_write(struct uart *u, uint64_t reg, uint8_t v)
{
	switch (reg) {
	case RBR_THR:
		if (u->lcr & LCR_DLAB)
			u->dll = v;
		else
			transmit(u, v);
		break;
	case IER:
		if (u->lcr & LCR_DLAB) {
			u->dlm = v;
		} else {
			/* Enabling THRI while THR is empty raises it at once. */
			if ((v & IER_THRI) && !(u->ier & IER_THRI))
				u->thr_irq_pending = true;
			u->ier = v & 0x0f;
		}
		break;
	case IIR_FCR:
		if (v & FCR_CLEAR_RX) {
			u->rx_count = 0;
			u->lsr &= ~LSR_DR;
		}
		u->fcr = v & 0xc9; /* enable, DMA mode, trigger level */
		break;
	case LCR:
		u->lcr = v;
		break;
	case MCR:
		u->mcr = v & 0x1f;
		break;
	case SCR:
		u->scr = v;
		break;
	default: /* LSR and MSR are read-only */
		break;
	}
}

static void uart_read(void *opaque, uint64_t off, uint8_t *data, uint32_t len)
{
	struct uart *u = opaque;

	pthread_mutex_lock(&u->lock);
	for (uint32_t i = 0; i < len; i++)
		data[i] = off + i < UART_NR_REGS ? reg_read(u, off + i) : 0xff;
	update_irq(u);
	pthread_mutex_unlock(&u->lock);
}

static void uart_write(void *opaque, uint64_t off, const uint8_t *data, uint32_t len)
{
	struct uart *u = opaque;

	pthread_mutex_lock(&u->lock);
	for (uint32_t i = 0; i < len; i++)
		if (off + i < UART_NR_REGS)
			reg_write(u, off + i, data[i]);
	update_irq(u);
	pthread_mutex_unlock(&u->lock);
}

const struct bus_ops uart_ops = {
    .name = "uart",
    .read = uart_read,
    .write = uart_write,
};

unsigned int uart_rx_push(struct uart *u, const uint8_t *data, unsigned int n)
{
	unsigned int i;

	pthread_mutex_lock(&u->lock);
	for (i = 0; i < n && u->rx_count < UART_RX_SIZE; i++)
		rx_put(u, data[i]);
	update_irq(u);
	pthread_mutex_unlock(&u->lock);
	return i;
}

unsigned int uart_rx_room(struct uart *u)
{
	unsigned int room;

	pthread_mutex_lock(&u->lock);
	room = UART_RX_SIZE - u->rx_count;
	pthread_mutex_unlock(&u->lock);
	return room;
}
