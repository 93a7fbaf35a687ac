/* cg_cli.h: the subcommand that writes compiled artifacts: compile. */
#ifndef SSD_CG_CLI_H
#define SSD_CG_CLI_H
int cg_cmd_compile(int argc, char **argv); /* ssdc compile MODEL --target cuda --arch sm_90 --out DIR */
#endif
