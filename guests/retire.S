/* Every instruction retires exactly once, wherever a quantum ends: each
 * vCPU runs a loop of loads, stores and register arithmetic, over blocks
 * that direct jumps chain, counting in registers and in memory (a page of
 * its own). It logs the iterations counted in x5, twice that in x6, the
 * count in memory, and x7, the sum of the counts read back on every other
 * iteration; then exits with x5. An instruction run twice, or skipped,
 * shows in one of them (tests/guest_test.c knows the right values). */
	.include "s2guest.inc"
	s2guest_header _start

	.equ DATA, 0x40400000
	.equ ITER, 200

	.global _start
_start:
	li x1, DATA
	add x1, x1, x0, lsl #12
	mov x2, #ITER
	mov x5, #0
	mov x6, #0
	mov x7, #0
	str xzr, [x1]
1:	add x5, x5, #1
	ldr x3, [x1]
	add x3, x3, #1
	str x3, [x1]
	add x6, x6, #2
	tbz x2, #0, 2f
	ldr x4, [x1]
	add x7, x7, x4
2:	subs x2, x2, #1
	b.ne 1b
	mov x0, x5
	hvc #HVC_LOG
	mov x0, x6
	hvc #HVC_LOG
	ldr x0, [x1]
	hvc #HVC_LOG
	mov x0, x7
	hvc #HVC_LOG
	mov x0, x5
	hvc #HVC_EXIT
