/* vCPU 0 writes each of 64 pages above 0x40400000, then reads them all
 * back: with few Unicorn regions the second pass finds its regions evicted
 * and the TLB still holding the pages. Exit code: wrong words. */
	.include "s2guest.inc"
	s2guest_header _start

	.equ BASE, 0x40400000
	.equ PAGES, 64

	.global _start
_start:
	cbz x0, 1f
	exit_imm 0
1:	li x1, BASE
	mov x2, #PAGES
2:	str x1, [x1]
	add x1, x1, #4096
	subs x2, x2, #1
	b.ne 2b
	li x1, BASE
	mov x2, #PAGES
	mov x6, #0
3:	ldr x3, [x1]
	cmp x3, x1
	cinc x6, x6, ne
	add x1, x1, #4096
	subs x2, x2, #1
	b.ne 3b
	mov x0, x6
	hvc #HVC_EXIT
