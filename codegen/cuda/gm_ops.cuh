// gm_ops.cuh: the small generic kernels of the whole-model GPU executor
// (runtime/rt_gpu_model.c): fill, unary ops, broadcasting binary ops and a
// strided 2-D copy (split, concat, cutting to the last position, growing a
// KV cache).  Unlike the ops_*.cuh templates nothing is baked in: shapes come
// as arguments, so one cubin serves every node of every model.  fp32 only.
// Self-contained (no prologue); compiled once through cg_build and loaded
// once per entry point.

// Unary op codes: rt_gpu_model.c's gm_unary_code mirrors this list.
#define GM_U_COPY 0
#define GM_U_SILU 1
#define GM_U_SOFTPLUS 2
#define GM_U_EXP 3
#define GM_U_LOG 4
#define GM_U_GELU_ERF 5
#define GM_U_GELU_TANH 6
#define GM_U_SIGMOID 7
#define GM_U_NEG 8
#define GM_U_CLAMP 9
#define GM_B_ADD 0
#define GM_B_SUB 1
#define GM_B_MUL 2
#define GM_B_DIV 3
#define GM_MAX_RANK 6

// Grid-stride loops: the host caps the grid, so any n fits.
#define GM_FOR(i, n) \
  for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < (n); \
       i += (long long)gridDim.x * blockDim.x)

extern "C" __global__ void gm_fill(float *y, float v, long long n) {
  GM_FOR(i, n) y[i] = v;
}

// Same formulas as rt_unary1 (runtime/rt_ops.c), with exact expf.
__device__ __forceinline__ float gm_un(int op, float v, float lo, float hi) {
  switch (op) {
  case GM_U_SILU: return v / (1.f + expf(-v));
  case GM_U_SOFTPLUS: return v > 20.f ? v : log1pf(expf(v));
  case GM_U_EXP: return expf(v);
  case GM_U_LOG: return logf(v);
  case GM_U_GELU_ERF: return 0.5f * v * erfcf(-v * 0.70710678118654752f);
  case GM_U_GELU_TANH: return v / (1.f + expf(-1.5957691216057308f * (v + 0.044715f * v * v * v)));
  case GM_U_SIGMOID: return 1.f / (1.f + expf(-v));
  case GM_U_NEG: return -v;
  case GM_U_CLAMP: return v < lo ? lo : v > hi ? hi : v;
  default: return v;
  }
}

extern "C" __global__ void gm_unary(const float *x, float *y, long long n, int op, float lo,
                                    float hi) {
  GM_FOR(i, n) y[i] = gm_un(op, x[i], lo, hi);
}

// Output shape and both inputs' element strides (0 where broadcast), all of
// rank `rank` (the host right-aligns the inputs).
struct gm_bshape {
  long long shape[GM_MAX_RANK], sa[GM_MAX_RANK], sb[GM_MAX_RANK];
  int rank;
};

extern "C" __global__ void gm_binary(const float *a, const float *b, float *y, long long n, int op,
                                     gm_bshape s) {
  GM_FOR(i, n) {
    long long rem = i, oa = 0, ob = 0;
    for (int d = s.rank - 1; d >= 0; d--) {
      const long long k = rem % s.shape[d];
      rem /= s.shape[d];
      oa += k * s.sa[d];
      ob += k * s.sb[d];
    }
    const float u = a[oa], v = b[ob];
    y[i] = op == GM_B_ADD ? u + v : op == GM_B_SUB ? u - v : op == GM_B_MUL ? u * v : u / v;
  }
}

// dst[r * dld + c] = src[r * sld + c] for rows x cols (offsets applied by the host).
extern "C" __global__ void gm_copy2d(const float *src, long long sld, float *dst, long long dld,
                                     long long rows, long long cols) {
  GM_FOR(i, rows * cols) {
    const long long r = i / cols, c = i - r * cols;
    dst[r * dld + c] = src[r * sld + c];
  }
}
