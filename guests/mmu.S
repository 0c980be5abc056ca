/* Turns its MMU on, which s2emu refuses: the run stops at the MSR. */
	.include "s2guest.inc"
	s2guest_header _start

	.global _start
_start:
	mrs x1, sctlr_el1
	orr x1, x1, #1
	msr sctlr_el1, x1
	isb
	exit_imm 0
