#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include "cg_cuda.h"
/* gen [wg] [N] [z|g] : g = z + folded gated norm; model strides of 2.7b */
int main(int argc, char **argv) {
  cg_ssd_spec s; memset(&s, 0, sizeof s);
  s.kind = CG_SSD_CHUNKED; s.H = 80; s.P = 64; s.N = argc > 2 ? atoi(argv[2]) : 128;
  s.hx = 80; s.hb = 1; s.hc = 1; s.hdt = 80;
  s.has_dt = s.has_A = s.A_is_log = s.has_dt_bias = s.dt_softplus = true;
  s.has_D = true; s.has_z = argc > 3 && (argv[3][0] == 'z' || argv[3][0] == 'g'); s.dt_max = 3e38; s.ps = getenv("PS") ? atoi(getenv("PS")) : 64;
  s.gnorm = argc > 3 && argv[3][0] == 'g';
  s.wg = argc > 1 && atoi(argv[1]);
  s.has_final = true; s.has_init = !getenv("NOINIT");
  s.ld_x = s.ld_b = s.ld_c = 10576; s.ld_dt = 10576; s.ld_z = s.has_z ? 10576 : 0;
  ssd_ctx c; ssd_ctx_init(&c);
  cg_source src;
  if (cg_ssd_source(&s, &src, &c)) { fprintf(stderr, "%s\n", c.msg); return 1; }
  fputs(src.src, stdout);
  return 0;
}
