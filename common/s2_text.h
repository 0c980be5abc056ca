/* s2_text: small formatting helpers shared by reports and commands. */
#ifndef S2_TEXT_H
#define S2_TEXT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* A JSON string literal: quotes, and escapes for quotes, backslashes and
 * control characters. */
void s2_json_string(FILE *f, const char *s);

/* "4K", "2M", "1G": a power-of-two size in the largest whole unit. */
const char *s2_size_name(uint64_t bytes, char *buf, size_t n);

#endif
