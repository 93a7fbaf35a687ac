/* pass_tool.c: `ssdc check` and `ssdc dump` without the runtime and codegen
 * linked in, so the pass tests (golden IR diffs, CLI errors) build and run
 * even when those stages are not compiled.  Same entry points as main.c. */
#include <stdio.h>
#include <string.h>

#include "pass_cli.h"

int main(int argc, char **argv) {
  if (argc >= 2 && !strcmp(argv[1], "check")) return pass_cmd_check(argc - 1, argv + 1);
  if (argc >= 2 && !strcmp(argv[1], "dump")) return pass_cmd_dump(argc - 1, argv + 1);
  fprintf(stderr, "usage: pass_tool check|dump ARGS\n");
  return 2;
}
