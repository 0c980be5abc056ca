/* Commands of the s2emu front end. */
#ifndef S2EMU_CLI_H
#define S2EMU_CLI_H

struct cli_command {
	const char *name;
	const char *summary;
	int (*run)(int argc, char **argv);	/* argv[0] is the command name */
};

int cli_variants(int argc, char **argv);
int cli_rules(int argc, char **argv);

/* Print a JSON string literal (quotes and escapes included). */
void cli_json_string(const char *s);

#endif
