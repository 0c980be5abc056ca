/* s2_text: small text helpers shared by reports, commands and tables: JSON
 * strings, sizes in units, finding a table's element by name. */
#ifndef S2_TEXT_H
#define S2_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* A JSON string literal: quotes, and escapes for quotes, backslashes and
 * control characters. */
void s2_json_string(FILE *f, const char *s);

/* "4K", "2M", "1G": a power-of-two size in the largest whole unit. */
const char *s2_size_name(uint64_t bytes, char *buf, size_t n);

/* The index of the first of the n elements of a table (each stride bytes,
 * its first member the element's name, a const char *) named name; -1 when
 * none is. For tables of named things: scenarios, policies. */
int s2_find_name(const void *table, unsigned n, size_t stride, const char *name);
/* The same for a table behind a function: the first i whose name(i) is
 * name, counting until name(i) is NULL; -1 when none is. For the models'
 * built-in scenarios, which the models name but do not look up. */
int s2_find_name_by(const char *(*name)(unsigned i), const char *s);

/* Whether two words are the same, inline: a reader's keys and keywords are
 * a few bytes, and a call to strcmp costs more than comparing them. */
static inline bool s2_same_word(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return *a == *b;
}

#endif
