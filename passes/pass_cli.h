/* pass_cli.h: the subcommands that stop after the passes: check and dump. */
#ifndef SSD_PASS_CLI_H
#define SSD_PASS_CLI_H
int pass_cmd_check(int argc, char **argv); /* ssdc check FILE...            */
int pass_cmd_dump(int argc, char **argv);  /* ssdc dump FILE [options]      */
#endif
