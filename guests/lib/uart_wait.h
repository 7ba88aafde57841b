/* Waiting for the host without spinning: for freestanding test guests. */
#ifndef KVMLAB_GUESTS_UART_WAIT_H
#define KVMLAB_GUESTS_UART_WAIT_H

/* Halt until the UART (COM1) has received a byte, which kvmlab feeds from
 * its stdin.  Sets up an IDT for the master 8259's vectors and unmasks
 * IRQ 4 only; interrupts are on only while halted here, and off again on
 * return.  A byte that arrived earlier ends the wait at once.  Returns
 * after consuming one byte; cannot fail (waits forever without input). */
void guest_wait_uart(void);

#endif
