/* Never ends on its own: for the time budget. */
	.include "s2guest.inc"
	s2guest_header _start

	.global _start
_start:
	add x1, x1, #1
	b _start
