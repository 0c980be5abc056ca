/* A compute loop with no memory accesses, for instructions per second.
 * Logs the iteration count and the loop's length in instructions, then
 * exits with its checksum. x0 = vCPU id; other vCPUs exit at once. */
	.include "s2guest.inc"
	s2guest_header _start

	.equ ITERATIONS, 20000000

	.global _start
_start:
	cbz x0, 1f
	exit_imm 0
1:	li x0, ITERATIONS
	hvc #HVC_LOG
	mov x0, #(loop_end - loop) / 4
	hvc #HVC_LOG
	li x1, ITERATIONS
	li x2, 0x9e3779b97f4a7c15
	mov x3, #1
	mov x4, #0
loop:	eor x3, x3, x3, lsl #13
	eor x3, x3, x3, lsr #7
	eor x3, x3, x3, lsl #17
	add x4, x4, x3
	mul x5, x3, x2
	eor x4, x4, x5, lsr #29
	ror x4, x4, #11
	sub x1, x1, #1
	cbnz x1, loop
loop_end:
	mov x0, x4
	hvc #HVC_EXIT
