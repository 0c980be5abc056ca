/* Exclusive and LSE atomics on one word: every result they leave must
 * come back through the cache model. Exit code packs what was read. */
	.arch armv8.1-a
	.include "s2guest.inc"
	s2guest_header _start
	.global _start
_start:
	cbz x0, 1f
	exit_imm 0
1:	li x1, 0x40400000
	mov x2, #5
	str x2, [x1]
	/* exclusive increment */
2:	ldxr x3, [x1]
	add x3, x3, #1
	stxr w4, x3, [x1]
	cbnz w4, 2b
	ldr x5, [x1]		/* 6 */
	/* LSE add */
	mov x6, #10
	ldadd x6, x7, [x1]	/* x7 = 6, mem = 16 */
	ldr x8, [x1]
	/* CAS */
	mov x9, #16
	mov x10, #100
	cas x9, x10, [x1]	/* mem = 100 */
	ldr x11, [x1]
	/* swp */
	mov x12, #7
	swp x12, x13, [x1]	/* x13 = 100, mem = 7 */
	ldr x14, [x1]
	/* pack: x5=6, x7=6, x8=16, x11=100, x13=100, x14=7 */
	add x0, x5, x7, lsl #8
	add x0, x0, x8, lsl #16
	add x0, x0, x11, lsl #24
	add x0, x0, x14, lsl #32
	hvc #HVC_EXIT
