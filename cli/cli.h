/* Commands of the s2emu front end. */
#ifndef S2EMU_CLI_H
#define S2EMU_CLI_H

#include <stdint.h>
#include <stdio.h>

#include "hyp-model/s2hyp.h"

struct cli_command {
	const char *name;
	const char *summary;
	int (*run)(int argc, char **argv);	/* argv[0] is the command name */
};

int cli_variants(int argc, char **argv);
int cli_rules(int argc, char **argv);

int cli_run(int argc, char **argv);
int cli_host(int argc, char **argv);
int cli_run_guest(int argc, char **argv);
int cli_replay(int argc, char **argv);
int cli_import_ftrace(int argc, char **argv);
int cli_fuzz(int argc, char **argv);
int cli_bugs(int argc, char **argv);
int cli_import_casemate(int argc, char **argv);
int cli_report(int argc, char **argv);
/* s2emu fuzz --merge FILE...: called by cli_fuzz. */
int cli_fuzz_merge(int argc, char **argv);
/* "I/N" with 0 <= I < N: 0, else -1. */
int cli_parse_shard(const char *s, unsigned *i, unsigned *n);

/* Parse a number in [min, max] for option opt; prints the error. */
int cli_parse_u64(const char *cmd, const char *opt, const char *s, uint64_t min, uint64_t max,
		  uint64_t *out);
/* The same, with an optional K, M or G suffix (powers of 1024). */
int cli_parse_size(const char *cmd, const char *opt, const char *s, uint64_t min, uint64_t max,
		   uint64_t *out);
/* Consume a machine option at argv[*i] (advancing *i past its value):
 * 1 consumed, 0 not a machine option, -1 bad value (error printed). */
int cli_machine_option(int argc, char **argv, int *i, struct s2hyp_config *cfg, const char *cmd);
extern const char *const cli_machine_options_help;
/* What the generic scenario generator may choose (enum s2fuzz_gen_pick):
 * everything except what the machine options in argv fix. */
unsigned cli_gen_pick(int argc, char **argv);

/* The end of an output: flush f, check it for write errors and close it
 * (standard output too, as the last thing a command writes). path names it
 * in the message, NULL for standard output. Prints "s2emu CMD: cannot
 * write PATH: why" (cmd NULL: "s2emu: ...") and returns -1 when anything written was lost. */
int cli_close_output(const char *cmd, FILE *f, const char *path);
/* Before long work: check that path can be written (the file is created to
 * find out and removed again if it did not exist). Prints the error. */
int cli_check_writable(const char *cmd, const char *path);

/* An output that appears only when it is whole (the importers): writes go
 * to an anonymous temporary file; commit copies it to path (NULL: standard
 * output) and checks the copy; abort drops it and leaves path untouched.
 * open checks up front that path can be written. Each prints its errors
 * and returns -1 on failure. */
struct cli_output {
	FILE *f;		/* write here between open and commit */
	const char *path;
};
int cli_output_open(const char *cmd, struct cli_output *o, const char *path);
int cli_output_commit(const char *cmd, struct cli_output *o);
void cli_output_abort(struct cli_output *o);

/* Print a JSON string literal (quotes and escapes included). */
void cli_json_string(const char *s);

#endif
