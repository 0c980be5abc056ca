/* Self-modifying code without cache maintenance. */
	.equ MAINT, 0
	.include "smc.inc"
