/* rt_cli.h: the subcommands that execute a model (run, generate, demo, bench)
 * or prepare its GPU kernels (compile). */
#ifndef SSD_RT_CLI_H
#define SSD_RT_CLI_H
int rt_cmd_run(int argc, char **argv);      /* ssdc run --model DIR --input IN --output OUT */
int rt_cmd_generate(int argc, char **argv); /* ssdc generate --model DIR --prompt-ids ...     */
int rt_cmd_demo(int argc, char **argv);     /* ssdc demo: built-in random mamba2-130m shape   */
int rt_cmd_bench(int argc, char **argv);    /* ssdc bench: CPU/GPU timings                     */
int rt_cmd_compile(int argc, char **argv);  /* ssdc compile MODEL --target cuda --out PACK    */
#endif
