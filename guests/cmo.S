/* Cache maintenance by address on pages not yet mapped at stage 2: each
 * is a stage-2 fault (DC ZVA a write, the others reads) that the
 * hypervisor handles before the instruction completes. DC ZVA zeroes 64
 * bytes. Exit code 0x600d when every value read is as expected. */
	.include "s2guest.inc"
	s2guest_header _start

	.equ DATA, 0x40400000

	.global _start
_start:
	cbz x0, 1f
	exit_imm 0
1:	li x1, DATA
	dc civac, x1			/* page 0: a read fault */
	li x2, DATA + 0x1000
	dc zva, x2			/* page 1: a write fault, then zeroes */
	ldr x3, [x2]
	mov x4, #5
	str x4, [x2, #8]
	dc zva, x2
	ldr x5, [x2, #8]
	li x6, DATA + 0x2000
	ic ivau, x6			/* page 2: a read fault */
	dsb ish
	isb
	orr x0, x3, x5
	cbnz x0, 2f
	li x0, 0x600d
2:	hvc #HVC_EXIT
