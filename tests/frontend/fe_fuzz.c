/* fe_fuzz.c: libFuzzer target for the whole frontend: scanner, parser,
 * checker, hyperparameter evaluation and lowering to IR.  Any crash, hang,
 * leak or sanitizer report is a bug; diagnostics themselves are expected.
 * Built with -DSSDC_FUZZ=ON (clang); seeds: tests/frontend/fuzz_seed and
 * models/.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "fe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static FILE *sink;
  if (!sink) sink = fopen("/dev/null", "w");
  ssd_ctx c;
  ssd_ctx_init(&c);
  c.diag = sink;
  ssd_arena *a = ssd_arena_new();
  if (!a) return 0;
  fe_program *p;
  ir_module *m = NULL;
  if (fe_parse_string(a, "fuzz.ssd", (const char *)data, size, &p, &c) == SSD_OK) {
    /* Overrides too: the input's last byte picks a value for the first param. */
    if (size && fe_nparams(p) > 0) {
      char v[8];
      snprintf(v, sizeof v, "%d", data[size - 1] % 7);
      fe_set(p, fe_param(p, 0)->name, v, &c);
    }
    if (fe_lower(p, &m, &c) == SSD_OK) ir_module_free(m);
  }
  ssd_arena_free(a);
  return 0;
}
