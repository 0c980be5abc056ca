/* A boot-like guest: vCPU 0, with its MMU off, checks the payload that
 * the VMM loaded with the image through its cacheable mapping. Its data
 * accesses are non-cacheable and see memory at PoC: unless stage-2
 * mapping cleaned the dcache (or FWB makes them cacheable), they see what
 * was there before the load. Exit code: the number of wrong words. */
	.include "s2guest.inc"
	s2guest_header _start

	.equ WORDS, 2048		/* 16 KiB: four pages */
	.equ PATTERN, 0x5a5a5a5a00000000

	.global _start
_start:
	cbz x0, 1f
	exit_imm 0			/* the other vCPUs have nothing to do */
1:	adr x1, payload
	li x4, PATTERN
	mov x5, #0			/* word index */
	mov x6, #0			/* wrong words */
	li x7, WORDS
2:	ldr x3, [x1], #8
	add x8, x4, x5
	cmp x3, x8
	cinc x6, x6, ne
	add x5, x5, #1
	cmp x5, x7
	b.ne 2b
	mov x0, x6
	hvc #HVC_EXIT

	.balign 4096
payload:
	.set i, 0
	.rept WORDS
	.quad PATTERN + i
	.set i, i + 1
	.endr
