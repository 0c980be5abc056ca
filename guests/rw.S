/* vCPU 0 reads and writes one data page, waits for phase 2 (the host may
 * unmap or write-protect the page in phase 1), then reads and writes it
 * again. Exit code: the value it reads last (0x1235 when every write
 * landed). */
	.include "s2guest.inc"
	s2guest_header _start

	.equ DATA, 0x40400000

	.global _start
_start:
	cbz x0, 1f
	phase 2
	exit_imm 0
1:	li x1, DATA
	ldr x3, [x1]			/* a read fault */
	mov x2, #0x1234
	str x2, [x1]			/* maybe a permission fault */
	phase 2
	ldr x3, [x1]
	add x3, x3, #1
	str x3, [x1]
	ldr x0, [x1]
	hvc #HVC_EXIT
