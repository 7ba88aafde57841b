/* Entry of a kvmlab test guest.  kvmlab starts it in 64-bit mode with
 * interrupts off, a stack, and the command line (NUL-terminated) at
 * GUEST_CMDLINE (0x20000).  main's return value becomes kvmlab's exit status. */
	.section .text.start, "ax"
	.globl _start
_start:
	mov $0x20000, %rdi
	call guest_main
	mov %eax, %edi
	call guest_exit
1:	hlt
	jmp 1b
	.section .note.GNU-stack, "", @progbits
