/* pass_driver.c: the pipeline, a straight list of passes in order.
 *
 * Each entry is one file in passes/.  After any pass the module can be
 * dumped (ssdc dump --after NAME, or "all"), and the pipeline can stop
 * early so that the dump shows the IR as that pass left it.  The verifier
 * runs once at the end: the passes check what they need as they go, and the
 * final check catches any pass that breaks an invariant another relies on.
 */
#include <string.h>

#include "passes.h"

typedef struct {
  const char *name;
  int (*run)(ir_module *, const pass_opts *, ssd_ctx *);
} pass_entry;

static const pass_entry pipeline[] = {
    {"elaborate", pass_elaborate}, /* inline the layer stack            */
    {"shapes", pass_shapes},       /* infer and check every type        */
    {"canon", pass_canon},         /* fold dims and scalars, drop dead  */
    {"heads", pass_heads},         /* SSM head patterns                 */
    {"algsel", pass_algsel},       /* quadratic / chunked / recurrent   */
    {"fuse", pass_fuse},           /* fold dt/A/D/z into SSMs, groups   */
    {"state", pass_state},         /* decode-cache slots                */
    {"memplan", pass_memplan},     /* activation buffers and their reuse */
};
enum { NPASSES = sizeof pipeline / sizeof *pipeline };

const char *const pass_names[NPASSES + 1] = {"elaborate", "shapes", "canon", "heads",
                                             "algsel",    "fuse",   "state", "memplan", NULL};

bool pass_name_valid(const char *name) {
  for (int i = 0; name && pass_names[i]; i++)
    if (!strcmp(pass_names[i], name)) return true;
  return false;
}

int pass_run_all(ir_module *m, const pass_opts *o, ssd_ctx *c) {
  static const pass_opts none = {0};
  if (!o) o = &none;
  const char *da = o->dump_after;
  if (da && strcmp(da, "all") && !pass_name_valid(da))
    return ssd_err(c, SSD_EINVAL, "unknown pass '%s' (passes: elaborate shapes canon heads "
                   "algsel fuse state memplan, or all)", da);
  if (o->stop_after && !pass_name_valid(o->stop_after))
    return ssd_err(c, SSD_EINVAL, "unknown pass '%s'", o->stop_after);
  for (int i = 0; i < NPASSES; i++) {
    bool skip = o->skip_fuse && pipeline[i].run == pass_fuse;
    int rc = skip ? SSD_OK : pipeline[i].run(m, o, c);
    if (rc) return rc;
    if (da && (!strcmp(da, "all") || !strcmp(da, pipeline[i].name))) {
      FILE *f = o->dump ? o->dump : stdout;
      if (!strcmp(da, "all") && o->dump_format == PASS_DUMP_TEXT)
        fprintf(f, "// ---- after %s\n", pipeline[i].name);
      pass_dump(m, o);
    }
    if (o->stop_after && !strcmp(o->stop_after, pipeline[i].name)) return SSD_OK;
  }
  return ir_verify(m, c);
}
