/* Every vCPU adds 1 to a shared counter 200 times without atomics, then
 * exits with the value it last wrote: lost updates depend on how the
 * vCPUs interleave, so the result is a fingerprint of the schedule. */
	.include "s2guest.inc"
	s2guest_header _start

	.equ COUNTER, 0x40400000

	.global _start
_start:
	li x1, COUNTER
	mov x2, #200
1:	ldr x3, [x1]
	add x3, x3, #1
	str x3, [x1]
	sub x2, x2, #1
	cbnz x2, 1b
	mov x0, x3
	hvc #HVC_EXIT
