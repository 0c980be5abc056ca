/* vCPU 0 reads and writes a device page outside guest RAM (an MMIO exit:
 * reads give 0) and exits with what it read plus 7. vCPU 1 reads beyond a
 * 40-bit IPA space, which stops it. */
	.include "s2guest.inc"
	s2guest_header _start

	.equ DEVICE, 0x09000000
	.equ BEYOND, 1 << 40

	.global _start
_start:
	cbnz x0, 1f
	li x1, DEVICE
	ldr x2, [x1]
	str x2, [x1, #8]
	ldr w3, [x1, #16]
	add x0, x2, x3
	add x0, x0, #7
	hvc #HVC_EXIT
1:	cmp x0, #1
	b.ne 2f
	li x1, BEYOND
	ldr x2, [x1]
2:	exit_imm 0
