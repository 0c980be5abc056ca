/* Self-modifying code with DC CVAU, DSB, IC IVAU, DSB, ISB. */
	.equ MAINT, 1
	.include "smc.inc"
