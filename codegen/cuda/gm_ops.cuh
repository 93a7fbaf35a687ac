// gm_ops.cuh: the small generic kernels of the whole-model GPU executor
// (runtime/rt_gpu_model.c): fill, unary ops, broadcasting binary ops and a
// strided 2-D copy that also converts between fp32 and bf16 (split/concat
// copies, cutting to the last position, growing a KV cache, dense or
// converted operands), and a plain attention for head sizes the tuned
// kernels do not take.  Unlike the ops_*.cuh templates nothing is baked in:
// shapes come as arguments, so one cubin serves every node of every model.
// fp32 except the copy.
// Self-contained (no prologue); compiled once through cg_build and loaded
// once per entry point.

// Unary op codes: the values of rt_unary_op (runtime/rt_ops.h), which the
// executor passes as they are (rt_unary_of in runtime/rt_value.c).
#define GM_U_SILU 0
#define GM_U_SOFTPLUS 1
#define GM_U_EXP 2
#define GM_U_LOG 3
#define GM_U_GELU_ERF 4
#define GM_U_GELU_TANH 5
#define GM_U_SIGMOID 6
#define GM_U_NEG 7
#define GM_U_CLAMP 8
#define GM_U_COPY 9
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
// fp32 <-> bf16 (round to nearest even; NaN stays NaN), as rt_gpu_model's
// host-side bf16_of.
__device__ __forceinline__ unsigned short gm_f2bf(float f) {
  const unsigned u = __float_as_uint(f);
  return (u & 0x7fffffffu) > 0x7f800000u ? (unsigned short)0x7fc0
                                         : (unsigned short)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}
__device__ __forceinline__ float gm_bf2f(unsigned short h) { return __uint_as_float((unsigned)h << 16); }

// dst[r * dld + c] = src[r * sld + c] for rows x cols elements, each side
// fp32 or bf16 (s16, d16): the one copy behind split/concat/cut copies, KV
// cache growth, and every dense (or dtype-converted) operand made on demand.
// Rows stride over grid y, columns over grid x (no division per element).
extern "C" __global__ void gm_copy2d(const void *src, long long sld, int s16, void *dst,
                                     long long dld, int d16, long long rows, long long cols) {
  for (long long r = blockIdx.y; r < rows; r += gridDim.y)
    for (long long c = blockIdx.x * (long long)blockDim.x + threadIdx.x; c < cols;
         c += (long long)gridDim.x * blockDim.x) {
      const long long si = r * sld + c, di = r * dld + c;
      if (!s16 && !d16) {
        ((float *)dst)[di] = ((const float *)src)[si];
      } else if (s16 && d16) {
        ((unsigned short *)dst)[di] = ((const unsigned short *)src)[si];
      } else if (s16) {
        ((float *)dst)[di] = gm_bf2f(((const unsigned short *)src)[si]);
      } else {
        ((unsigned short *)dst)[di] = gm_f2bf(((const float *)src)[si]);
      }
    }
}

// ---- attention for head sizes the tuned kernels (ops_kv/ops_attn.cuh) do not
// take (head dim not a multiple of 32): plain fp32, one thread per query row,
// same math as rt_attention (runtime/rt_ops.c).  KV cache [B, Hkv, cap, Dh].
#define GM_MAX_DH 256

// Element e (< rd) of head row x after GPT-NeoX rotate-half rotary at pos;
// angles in double like rt_rope.
__device__ __forceinline__ float gm_rope(const float *x, int e, int rd, double theta,
                                         long long pos) {
  const int half = rd / 2, i = e < half ? e : e - half;
  const double ang = (double)pos * pow(theta, -2.0 * (double)i / (double)rd);
  const float cs = (float)cos(ang), sn = (float)sin(ang);
  return e < half ? x[e] * cs - x[e + half] * sn : x[e] * cs + x[e - half] * sn;
}

// Rotary on k and append k, v ([B, L, Hkv, Dh]) at positions pos0...
extern "C" __global__ void gm_kv_append(const float *k, const float *v, float *kc, float *vc,
                                        long long B, long long L, int Hkv, int Dh, int rd,
                                        double theta, const long long *pos0p, long long cap) {
  const long long pos0 = *pos0p;
  GM_FOR(i, B * L * Hkv * Dh) {
    const long long row = i / Dh, bt = row / Hkv;
    const int e = (int)(i - row * Dh), h = (int)(row - bt * Hkv);
    const long long b = bt / L, t = bt - b * L;
    const long long dst = ((b * Hkv + h) * cap + pos0 + t) * Dh + e;
    kc[dst] = e < rd ? gm_rope(k + row * Dh, e, rd, theta, pos0 + t) : k[i];
    vc[dst] = v[i];
  }
}

// Causal attention of q ([B, L, Hq, Dh], rotary applied here) over the cache
// holding pos0 + L positions; y [B, L, Hq, Dh].
extern "C" __global__ void gm_attn(const float *q, const float *kc, const float *vc, float *y,
                                   long long B, long long L, int Hq, int Hkv, int Dh, int rd,
                                   double theta, float scale, const long long *pos0p,
                                   long long cap) {
  const long long pos0 = *pos0p;
  GM_FOR(i, B * L * Hq) {
    const long long bt = i / Hq, b = bt / L, t = bt - b * L;
    const int h = (int)(i - bt * Hq), kh = h / (Hq / Hkv);
    const long long nvis = pos0 + t + 1;
    const float *qrow = q + i * Dh;
    const float *K = kc + (b * Hkv + kh) * cap * Dh, *V = vc + (b * Hkv + kh) * cap * Dh;
    float qr[GM_MAX_DH], acc[GM_MAX_DH];
    for (int e = 0; e < Dh; e++) {
      qr[e] = e < rd ? gm_rope(qrow, e, rd, theta, pos0 + t) : qrow[e];
      acc[e] = 0.f;
    }
    float mx = __int_as_float(0xff800000); // -inf (NVRTC has no math.h macros)
    for (long long u = 0; u < nvis; u++) {
      float s = 0.f;
      for (int e = 0; e < Dh; e++) s += qr[e] * K[u * Dh + e];
      mx = fmaxf(mx, s * scale);
    }
    double sum = 0;
    for (long long u = 0; u < nvis; u++) {
      float s = 0.f;
      for (int e = 0; e < Dh; e++) s += qr[e] * K[u * Dh + e];
      const float p = expf(s * scale - mx);
      sum += p;
      for (int e = 0; e < Dh; e++) acc[e] += p * V[u * Dh + e];
    }
    const float inv = (float)(1.0 / sum);
    for (int e = 0; e < Dh; e++) y[i * Dh + e] = acc[e] * inv;
  }
}
