/* The seed scenario, run by real code (with guests/seed.vm, 2 or more
 * vCPUs). Block 0 of the THP slot is mapped as a 2M block, split by dirty
 * logging while vCPU 0 writes every 8th page, then, logging off and the
 * host's image written into pages 1..4, vCPU 1 reads the image with its
 * MMU off: its fault coalesces the block back into a 2M mapping while the
 * other vCPUs keep touching pages of the same block. vCPU 1 exits with the
 * number of image words it saw wrong; the others with 0. */
	.include "s2guest.inc"
	s2guest_header _start

	.equ BASE, 0x40200000		/* memslot 1: two 2M blocks */
	.equ SZ_2M, 0x200000
	.equ IMAGE_WORDS, 4 * 4096 / 8
	.equ FILL, 0xa5a5a5a5a5a5a5a5

	.global _start
_start:
	mov x19, x0
	li x20, BASE
	cbnz x19, 1f
	/* Phase 0: vCPU 0 touches both blocks: 2M mappings. */
	ldr x1, [x20]
	li x2, BASE + SZ_2M
	ldr x1, [x2]
1:	phase 2				/* dirty logging is on from phase 1 */
	cbnz x19, 3f
	/* Phase 2: every 8th page of block 0 written: the block is split. */
	mov x3, #0
2:	add x4, x20, x3, lsl #12
	str x4, [x4]
	add x3, x3, #8
	cmp x3, #512
	b.ne 2b
3:	phase 4				/* logging off, image written in phase 3 */
	cmp x19, #1
	b.ne 5f
	/* Phase 4, vCPU 1: the image, MMU off. */
	add x1, x20, #4096
	li x7, IMAGE_WORDS
	li x8, FILL
	mov x6, #0
4:	ldr x3, [x1], #8
	cmp x3, x8
	cinc x6, x6, ne
	subs x7, x7, #1
	b.ne 4b
	mov x0, x6
	hvc #HVC_EXIT
	/* Phase 4, the others: twice over pages 8v, 8v + 8, ... 8v + 32,
	 * reading or writing in turn, then page 8v + 3, which no one mapped:
	 * it needs the block while this TLB may still hold the pages. */
5:	mov x9, #2
6:	mov x3, #0
7:	add x4, x3, x19, lsl #3
	add x4, x20, x4, lsl #12
	lsr x5, x3, #3
	add x5, x5, x19
	tbz x5, #0, 8f
	str x4, [x4]
	b 9f
8:	ldr x5, [x4]
9:	add x3, x3, #8
	cmp x3, #40
	b.ne 7b
	subs x9, x9, #1
	b.ne 6b
	lsl x4, x19, #3
	add x4, x4, #3
	add x4, x20, x4, lsl #12
	ldr x5, [x4]
	exit_imm 0
