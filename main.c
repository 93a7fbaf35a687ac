/* main.c: the ssdc command line.  It only dispatches: each stage implements
 * its own subcommands (passes: check, dump; runtime: run, generate, demo,
 * bench, compile), so this file stays a table.
 */
#include <stdio.h>
#include <string.h>

#include "ssd_base.h"
#include "../passes/pass_cli.h"
#include "../runtime/rt_cli.h"

typedef struct {
  const char *name;
  int (*fn)(int argc, char **argv);
  const char *summary;
} command;

static const command commands[] = {
    {"check", pass_cmd_check, "parse and verify model files"},
    {"dump", pass_cmd_dump, "print a model's IR after any pass (text or Graphviz)"},
    {"run", rt_cmd_run, "run a checkpoint on input ids, write logits"},
    {"generate", rt_cmd_generate, "greedy decoding from prompt ids"},
    {"demo", rt_cmd_demo, "run a built-in random mamba2-130m-shaped model (no downloads)"},
    {"bench", rt_cmd_bench, "time prefill, decode and the ssm forms"},
    {"compile", rt_cmd_compile, "write a kernel pack: the GPU kernels of a model (no GPU needed)"},
};

static void usage(FILE *f) {
  fprintf(f, "usage: ssdc COMMAND [ARGS]\n\n"
             "ssdc compiles and runs structured state space models (Mamba-1, Mamba-2,\n"
             "hybrids with attention and MLPs) from a one-page model file.\n\ncommands:\n");
  for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
    fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
  fprintf(f, "\n`ssdc COMMAND --help` describes each command.\n"
             "  --help       this text\n  --version    print the version\n");
}

int main(int argc, char **argv) {
  if (argc < 2) {
    usage(stderr);
    return 2;
  }
  if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
    usage(stdout);
    return 0;
  }
  if (!strcmp(argv[1], "--version")) {
    printf("ssdc %s\n", SSDC_VERSION);
    return 0;
  }
  for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
    if (!strcmp(argv[1], commands[i].name)) return commands[i].fn(argc - 1, argv + 1);
  fprintf(stderr, "ssdc: error: unknown command '%s' (see ssdc --help)\n", argv[1]);
  return 2;
}
