/* rt_ssm.h: the structured mixer on the CPU, in its three forms.
 *
 * One op covers Mamba-2's SSD (scalar decay per head), Mamba-1's S6 (diagonal
 * A per channel: heads of head dim 1 whose A is a vector over the state),
 * linear attention (no dt, no A: decay 1) and fixed per-head decays (A given,
 * no dt: decay exp(A) each step).  For every head h, with operand heads read
 * through the broadcast h / (H / h_k):
 *
 *   dt_t  = clamp(softplus?(dt_t + dt_bias), dt_min, dt_max)      (dt = 1 if absent)
 *   a_t   = exp(dt_t * A)        A = -exp(A_log) if A_is_log      (A = 0 if absent)
 *   s_t   = a_t * s_{t-1} + dt_t * x_t B_t^T                      s: [P, N]
 *   y_t   = s_t C_t + D * x_t;   y_t *= silu(z_t) if z given
 *
 * The recurrent form runs that loop; the quadratic form builds the masked
 * L x L kernel (L o C B^T) per head; the chunked form is the SSD block
 * decomposition with chunk Q.  All three must agree with rt_ssm_ref_f64.
 * This header is also the contract the CUDA kernels are validated against.
 */
#ifndef SSD_RT_SSM_H
#define SSD_RT_SSM_H

#include <stdbool.h>
#include <stdint.h>

#include "ssd_base.h"

typedef struct rt_ssm_desc {
  int s6;                     /* 0: SSD (A is [hdt]); 1: S6 (A is [hdt, N]) */
  int64_t batch, L;
  int64_t H, P, N;            /* output heads, head dim, state size */
  int64_t hx, hb, hc, hdt;    /* operand heads; each divides H */
  bool has_dt, has_A, has_D, has_z, has_dt_bias;
  bool D_per_channel;         /* D is [H, P] rather than [H] */
  bool dt_softplus, A_is_log;
  double dt_min, dt_max;      /* (0, inf) means no clamp */
  int64_t chunk;              /* chunked form: Q */
} rt_ssm_desc;

typedef struct rt_ssm_args {
  const float *x;        /* [batch, L, hx, P] */
  const float *dt;       /* [batch, L, hdt] */
  const float *A;        /* SSD [hdt]; S6 [hdt, N] */
  const float *B;        /* [batch, L, hb, N] */
  const float *C;        /* [batch, L, hc, N] */
  const float *D;        /* [H] or [H, P] */
  const float *z;        /* [batch, L, H, P] */
  const float *dt_bias;  /* [hdt] */
  float *state;          /* [batch, H, P, N]: in, the initial state (NULL: zeros);
                            out, the final state (NULL: not returned) */
  float *y;              /* [batch, L, H, P] */
} rt_ssm_args;

/* Validate a descriptor (divisibility, sizes, overflow) with a message. */
int rt_ssm_check(const rt_ssm_desc *d, ssd_ctx *c);

/* The three forms.  Return SSD_OK or an error (bad descriptor, no memory). */
int rt_ssm_recurrent(const rt_ssm_desc *d, const rt_ssm_args *a, ssd_ctx *c);
int rt_ssm_quadratic(const rt_ssm_desc *d, const rt_ssm_args *a, ssd_ctx *c);
int rt_ssm_chunked(const rt_ssm_desc *d, const rt_ssm_args *a, ssd_ctx *c);

/* Float64 reference: the recurrence in double, the oracle for all of them. */
typedef struct rt_ssm_args64 {
  const double *x, *dt, *A, *B, *C, *D, *z, *dt_bias;
  double *state, *y;
} rt_ssm_args64;
int rt_ssm_ref_f64(const rt_ssm_desc *d, const rt_ssm_args64 *a, ssd_ctx *c);

#endif
