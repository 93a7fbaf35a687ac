// am_common.cuh: greedy decoding's pick rule, shared by the two kernels that
// pick: ops_argmax.cuh (a kernel of its own, over logits in memory) and
// dec_gemv.cuh with DEC_ARGMAX (the LM head's GEMV, whose epilogue picks
// from the logits it has just computed, so a greedy decode step needs no
// argmax launch after it).  Prepended by codegen (cg_cuda_ops.c,
// cg_cuda_dec.c) after the family's common header.
//
// The rule is rt_argmax's (runtime/rt_ops.h): the first index of the
// largest value, NaN below every number, so the device and the host pick
// the same token.  It is a total order on (value, index) pairs, so a
// winner does not depend on the order of the reductions or the schedule.
#define AM_NAN __int_as_float(0x7fc00000)

// (a, ia) beats (b, ib): numbers beat NaN, larger beats smaller, and among
// equals (or two NaNs) the lower index wins.
__device__ __forceinline__ bool am_beats(float a, long long ia, float b, long long ib) {
  const bool na = a != a, nb = b != b;
  if (na != nb) return nb;
  if (!na && a != b) return a > b;
  return ia < ib;
}

// The same order as one unsigned 64-bit key (index < 2^32 - 1): the value
// made monotone in the high word (NaN lowest, -0 as +0), the index
// complemented in the low word.  So am_beats(a, ia, b, ib) exactly when
// am_key(a, ia) > am_key(b, ib), and every key is > 0: 0 is "none yet".
__device__ __forceinline__ unsigned long long am_key(float v, long long i) {
  unsigned u = __float_as_uint(v);
  u = v != v ? 0u : v == 0.f ? 0x80000000u : (u & 0x80000000u) ? ~u : (u | 0x80000000u);
  return ((unsigned long long)u << 32) | (0xffffffffu - (unsigned)i);
}
__device__ __forceinline__ long long am_key_index(unsigned long long k) {
  return (long long)(0xffffffffu - (unsigned)(k & 0xffffffffu));
}

// Row r's pick, everywhere it goes (p: the position before this step):
// over the step's ids (out) and, with a ring, at slot p % hist_n.
__device__ __forceinline__ void am_put(long long *out, long long *hist, long long hist_n,
                                       long long p, long long rows, long long r, long long bi) {
  out[r] = bi;
  if (hist) hist[(p % hist_n) * rows + r] = bi;
}
