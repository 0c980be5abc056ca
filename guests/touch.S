/* vCPU 0 writes one word in every 4 KiB page of the 64 MiB above
 * 0x44000000, then exits 0: a fault-path speed test. */
	.include "s2guest.inc"
	s2guest_header _start

	.equ BASE, 0x44000000
	.equ SIZE, 64 << 20

	.global _start
_start:
	cbz x0, 1f
	exit_imm 0
1:	li x1, BASE
	li x2, BASE + SIZE
2:	str x1, [x1]
	add x1, x1, #4096
	cmp x1, x2
	b.ne 2b
	exit_imm 0
