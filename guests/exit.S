/* The exit convention: every vCPU logs its id, then exits with 0x40 + id. */
	.include "s2guest.inc"
	s2guest_header _start

	.global _start
_start:
	mov x19, x0
	hvc #HVC_LOG
	add x0, x19, #0x40
	hvc #HVC_EXIT
