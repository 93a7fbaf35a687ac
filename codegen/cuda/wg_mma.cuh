// wg_mma.cuh: sm_90a warpgroup MMA (wgmma.mma_async) for the SSD kernel's
// wgmma variant (ssd_wg.cuh).  A warpgroup (the block's 4 warps) multiplies a
// 64-row A (shared memory, or registers in mma.m16n8k16's A fragment layout,
// warp w holding rows 16w..16w+15) by a B in shared memory into fp32
// accumulators laid out like mma's C fragments tiled along N: d[4j..4j+3] are
// (16w+g, 8j+2t..+1) and (16w+g+8, 8j+2t..+1), g = lane/4, t = lane%4.
//
// Shared-memory operands use one layout, with no swizzle: a bf16 tile of R
// rows (tokens, or state rows) by C columns (contiguous in global memory)
// keeps each group of 8 columns as R rows of 16 bytes, groups R*16 bytes
// apart: element (r, c) at byte (c/8)*R*16 + r*16 + (c%8)*2.  An 8x8 "core
// matrix" is then 128 contiguous bytes, which is what wgmma's descriptors
// describe: LBO is the byte step between core matrices along K, SBO along M
// or N.  Used K-major (K = the columns: C as A, B and the state as B of C B^T
// and C S^T) LBO = R*16 and SBO = 128; used MN-major (K = the rows: x and B
// as B of (L o CB) X and of the state update, transposed by the instruction)
// LBO = 128 and SBO = R*16.  The emulated device computes from the same
// descriptors (below), so a wrong layout fails there as on the GPU.
//
// Ordering: registers an mma_async reads or writes may be touched again only
// after wg_wait; wg_fence_acc pins accumulators at those points so the
// compiler cannot move their uses across the asynchronous window.  Shared
// memory written by ordinary stores (or cp.async) must be published to the
// async proxy (fence_proxy_async, ssd_common.cuh) before a barrier that precedes the mma.

// Byte offset of element (r, c) in an R-row tile.
template <int R>
__device__ __forceinline__ int wg_off(int r, int c) { return (c >> 3) * R * 16 + r * 16 + (c & 7) * 2; }

#if !SSDC_EMU
typedef u64 wg_desc;
__device__ __forceinline__ wg_desc wg_make_desc(const void *p, u32 lbo, u32 sbo) {
  return (u64)((smem_addr(p) & 0x3ffffu) >> 4) | (u64)(lbo >> 4) << 16 | (u64)(sbo >> 4) << 32;
}
__device__ __forceinline__ void wg_fence() { asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory"); }
__device__ __forceinline__ void wg_commit() { asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory"); }
template <int N> __device__ __forceinline__ void wg_wait() {
  asm volatile("wgmma.wait_group.sync.aligned %0;\n" ::"n"(N) : "memory");
}
// (Accumulators as tiles d[j][0..3]; indexing them element by element keeps
// them in registers, where a float* view of the array put it on the stack.)
template <int NT> __device__ __forceinline__ void wg_fence_acc(float (&d)[NT][4]) {
#pragma unroll
  for (int j = 0; j < NT; j++)
#pragma unroll
    for (int e = 0; e < 4; e++) asm volatile("" : "+f"(d[j][e])::"memory");
}

// D (+)= A B: m64, n = 64 or 128, k16.  TB = 1: B is MN-major (transposed).
// ss: A from shared memory (K-major); rs: A from registers.  acc = 0
// overwrites D.
template <int TB>
__device__ __forceinline__ void wg_mma_ss_n64(float d[32], u64 da, u64 db, int acc) {
  asm volatile(
      "{\n.reg .pred p;\nsetp.ne.b32 p, %34, 0;\n"
      "wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16 {%0,%1,%2,%3,%4,%5,%6,%7,%8,%9,%10,%11,%12,%13,%14,%15,%16,%17,%18,%19,%20,%21,%22,%23,%24,%25,%26,%27,%28,%29,%30,%31}, %32, %33, p, 1, 1, 0, %35;\n}\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31])
      : "l"(da), "l"(db), "r"(acc), "n"(TB));
}
template <int TB>
__device__ __forceinline__ void wg_mma_rs_n64(float d[32], const u32 a[4], u64 db, int acc) {
  asm volatile(
      "{\n.reg .pred p;\nsetp.ne.b32 p, %37, 0;\n"
      "wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16 {%0,%1,%2,%3,%4,%5,%6,%7,%8,%9,%10,%11,%12,%13,%14,%15,%16,%17,%18,%19,%20,%21,%22,%23,%24,%25,%26,%27,%28,%29,%30,%31}, {%32,%33,%34,%35}, %36, p, 1, 1, %38;\n}\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(db), "r"(acc), "n"(TB));
}
template <int TB>
__device__ __forceinline__ void wg_mma_ss_n128(float d[64], u64 da, u64 db, int acc) {
  asm volatile(
      "{\n.reg .pred p;\nsetp.ne.b32 p, %66, 0;\n"
      "wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16 {%0,%1,%2,%3,%4,%5,%6,%7,%8,%9,%10,%11,%12,%13,%14,%15,%16,%17,%18,%19,%20,%21,%22,%23,%24,%25,%26,%27,%28,%29,%30,%31,%32,%33,%34,%35,%36,%37,%38,%39,%40,%41,%42,%43,%44,%45,%46,%47,%48,%49,%50,%51,%52,%53,%54,%55,%56,%57,%58,%59,%60,%61,%62,%63}, %64, %65, p, 1, 1, 0, %67;\n}\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]), "+f"(d[32]), "+f"(d[33]), "+f"(d[34]), "+f"(d[35]), "+f"(d[36]), "+f"(d[37]), "+f"(d[38]), "+f"(d[39]), "+f"(d[40]), "+f"(d[41]), "+f"(d[42]), "+f"(d[43]), "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47]), "+f"(d[48]), "+f"(d[49]), "+f"(d[50]), "+f"(d[51]), "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55]), "+f"(d[56]), "+f"(d[57]), "+f"(d[58]), "+f"(d[59]), "+f"(d[60]), "+f"(d[61]), "+f"(d[62]), "+f"(d[63])
      : "l"(da), "l"(db), "r"(acc), "n"(TB));
}
template <int TB>
__device__ __forceinline__ void wg_mma_rs_n128(float d[64], const u32 a[4], u64 db, int acc) {
  asm volatile(
      "{\n.reg .pred p;\nsetp.ne.b32 p, %69, 0;\n"
      "wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16 {%0,%1,%2,%3,%4,%5,%6,%7,%8,%9,%10,%11,%12,%13,%14,%15,%16,%17,%18,%19,%20,%21,%22,%23,%24,%25,%26,%27,%28,%29,%30,%31,%32,%33,%34,%35,%36,%37,%38,%39,%40,%41,%42,%43,%44,%45,%46,%47,%48,%49,%50,%51,%52,%53,%54,%55,%56,%57,%58,%59,%60,%61,%62,%63}, {%64,%65,%66,%67}, %68, p, 1, 1, %70;\n}\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]), "+f"(d[32]), "+f"(d[33]), "+f"(d[34]), "+f"(d[35]), "+f"(d[36]), "+f"(d[37]), "+f"(d[38]), "+f"(d[39]), "+f"(d[40]), "+f"(d[41]), "+f"(d[42]), "+f"(d[43]), "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47]), "+f"(d[48]), "+f"(d[49]), "+f"(d[50]), "+f"(d[51]), "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55]), "+f"(d[56]), "+f"(d[57]), "+f"(d[58]), "+f"(d[59]), "+f"(d[60]), "+f"(d[61]), "+f"(d[62]), "+f"(d[63])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(db), "r"(acc), "n"(TB));
}

// The GEMM's descriptors (gw_gemm.cuh): a K-major operand written by tensor
// copies in the 128-byte swizzle, rows of 64 bf16 (128 bytes), 8-row groups
// 1024 bytes apart (SBO; LBO unused in this mode, 1 by convention), layout
// type 1 in bits 62-63; wg_desc_adv moves its start by a multiple of 16 bytes
// (the k-th 16-column step within the 64-column box is 32 bytes on: the
// hardware swizzles the address it computes, as the copies did).
__device__ __forceinline__ wg_desc wg_make_desc_sw128(const void *p) { return wg_make_desc(p, 16, 1024) | (u64)1 << 62; }
__device__ __forceinline__ wg_desc wg_desc_adv(wg_desc d, int bytes) { return d + (u64)(bytes >> 4); }
// D += A B, m64n256k16, both operands K-major in shared memory.
__device__ __forceinline__ void wg_mma_ss_n256(float (&d)[32][4], u64 da, u64 db) {
  asm volatile(
      "{\n.reg .pred p;\nsetp.ne.b32 p, 1, 0;\n"
      "wgmma.mma_async.sync.aligned.m64n256k16.f32.bf16.bf16 {%0,%1,%2,%3,%4,%5,%6,%7,%8,%9,%10,%11,%12,%13,%14,%15,%16,%17,%18,%19,%20,%21,%22,%23,%24,%25,%26,%27,%28,%29,%30,%31,%32,%33,%34,%35,%36,%37,%38,%39,%40,%41,%42,%43,%44,%45,%46,%47,%48,%49,%50,%51,%52,%53,%54,%55,%56,%57,%58,%59,%60,%61,%62,%63,%64,%65,%66,%67,%68,%69,%70,%71,%72,%73,%74,%75,%76,%77,%78,%79,%80,%81,%82,%83,%84,%85,%86,%87,%88,%89,%90,%91,%92,%93,%94,%95,%96,%97,%98,%99,%100,%101,%102,%103,%104,%105,%106,%107,%108,%109,%110,%111,%112,%113,%114,%115,%116,%117,%118,%119,%120,%121,%122,%123,%124,%125,%126,%127}, %128, %129, p, 1, 1, 0, 0;\n}\n"
      : "+f"(d[0][0]), "+f"(d[0][1]), "+f"(d[0][2]), "+f"(d[0][3]), "+f"(d[1][0]), "+f"(d[1][1]), "+f"(d[1][2]), "+f"(d[1][3]), "+f"(d[2][0]), "+f"(d[2][1]), "+f"(d[2][2]), "+f"(d[2][3]), "+f"(d[3][0]), "+f"(d[3][1]), "+f"(d[3][2]), "+f"(d[3][3]), "+f"(d[4][0]), "+f"(d[4][1]), "+f"(d[4][2]), "+f"(d[4][3]), "+f"(d[5][0]), "+f"(d[5][1]), "+f"(d[5][2]), "+f"(d[5][3]), "+f"(d[6][0]), "+f"(d[6][1]), "+f"(d[6][2]), "+f"(d[6][3]), "+f"(d[7][0]), "+f"(d[7][1]), "+f"(d[7][2]), "+f"(d[7][3]), "+f"(d[8][0]), "+f"(d[8][1]), "+f"(d[8][2]), "+f"(d[8][3]), "+f"(d[9][0]), "+f"(d[9][1]), "+f"(d[9][2]), "+f"(d[9][3]), "+f"(d[10][0]), "+f"(d[10][1]), "+f"(d[10][2]), "+f"(d[10][3]), "+f"(d[11][0]), "+f"(d[11][1]), "+f"(d[11][2]), "+f"(d[11][3]), "+f"(d[12][0]), "+f"(d[12][1]), "+f"(d[12][2]), "+f"(d[12][3]), "+f"(d[13][0]), "+f"(d[13][1]), "+f"(d[13][2]), "+f"(d[13][3]), "+f"(d[14][0]), "+f"(d[14][1]), "+f"(d[14][2]), "+f"(d[14][3]), "+f"(d[15][0]), "+f"(d[15][1]), "+f"(d[15][2]), "+f"(d[15][3]), "+f"(d[16][0]), "+f"(d[16][1]), "+f"(d[16][2]), "+f"(d[16][3]), "+f"(d[17][0]), "+f"(d[17][1]), "+f"(d[17][2]), "+f"(d[17][3]), "+f"(d[18][0]), "+f"(d[18][1]), "+f"(d[18][2]), "+f"(d[18][3]), "+f"(d[19][0]), "+f"(d[19][1]), "+f"(d[19][2]), "+f"(d[19][3]), "+f"(d[20][0]), "+f"(d[20][1]), "+f"(d[20][2]), "+f"(d[20][3]), "+f"(d[21][0]), "+f"(d[21][1]), "+f"(d[21][2]), "+f"(d[21][3]), "+f"(d[22][0]), "+f"(d[22][1]), "+f"(d[22][2]), "+f"(d[22][3]), "+f"(d[23][0]), "+f"(d[23][1]), "+f"(d[23][2]), "+f"(d[23][3]), "+f"(d[24][0]), "+f"(d[24][1]), "+f"(d[24][2]), "+f"(d[24][3]), "+f"(d[25][0]), "+f"(d[25][1]), "+f"(d[25][2]), "+f"(d[25][3]), "+f"(d[26][0]), "+f"(d[26][1]), "+f"(d[26][2]), "+f"(d[26][3]), "+f"(d[27][0]), "+f"(d[27][1]), "+f"(d[27][2]), "+f"(d[27][3]), "+f"(d[28][0]), "+f"(d[28][1]), "+f"(d[28][2]), "+f"(d[28][3]), "+f"(d[29][0]), "+f"(d[29][1]), "+f"(d[29][2]), "+f"(d[29][3]), "+f"(d[30][0]), "+f"(d[30][1]), "+f"(d[30][2]), "+f"(d[30][3]), "+f"(d[31][0]), "+f"(d[31][1]), "+f"(d[31][2]), "+f"(d[31][3])
      : "l"(da), "l"(db));
}

#else // the emulated device: each lane computes its own accumulators from the descriptors
struct wg_desc {
  const unsigned char *p;
  u32 lbo, sbo;
  bool sw128; /* the 128-byte swizzle (K-major only here) */
};
__device__ __forceinline__ wg_desc wg_make_desc(const void *p, u32 lbo, u32 sbo) {
  return {(const unsigned char *)p, lbo, sbo, false};
}
__device__ __forceinline__ wg_desc wg_make_desc_sw128(const void *p) {
  return {(const unsigned char *)p, 16, 1024, true};
}
__device__ __forceinline__ wg_desc wg_desc_adv(wg_desc d, int bytes) { return d.p += bytes, d; }
__device__ __forceinline__ void wg_fence() {}
__device__ __forceinline__ void wg_commit() {}
template <int N> __device__ __forceinline__ void wg_wait() {}
template <int NT> __device__ __forceinline__ void wg_fence_acc(float (&)[NT][4]) {}

// Element (m or n, k) of a K-major operand, or (n, k) of an MN-major one.
// In the 128-byte swizzle, row mn of the operand is 128 bytes at
// p + (mn / 8) SBO + (mn % 8) 128, and its 16-byte chunk j lies at chunk
// j ^ (address bits 7..9): the swizzle of the address the hardware computes.
static inline float emu_wg_el(const wg_desc &d, int mn, int k, bool mn_major) {
  const unsigned char *q = d.sw128 ? d.p + (mn >> 3) * d.sbo + (mn & 7) * 128 + k * 2
                         : mn_major ? d.p + (mn >> 3) * d.sbo + (mn & 7) * 2 + (k >> 3) * d.lbo + (k & 7) * 16
                                    : d.p + (mn >> 3) * d.sbo + (mn & 7) * 16 + (k >> 3) * d.lbo + (k & 7) * 2;
  if (d.sw128) q = (const unsigned char *)((uintptr_t)q ^ (((uintptr_t)q >> 7 & 7) << 4));
  uint16_t v;
  memcpy(&v, q, 2);
  return __uint_as_float((u32)v << 16);
}
// What the swizzled layout emulated here covers: K-major operands starting
// in the first 128-byte row of a 1024-byte period.
static inline void emu_wg_check(const wg_desc &d, bool mn_major) {
  if (d.sw128 && mn_major) emu_fail("wgmma: an MN-major operand in the 128-byte swizzle is not emulated");
  if (d.sw128 && ((uintptr_t)d.p & 1023) >= 128)
    emu_fail("wgmma: a swizzled operand must start in the first row of a 1024-byte period");
}
// A from registers (a != NULL: the warp's lanes exchange their fragments, as
// in emu_mma_bf16) or from shared memory (da).
static inline void emu_wgmma(float *d, int n, const u32 *a, const wg_desc *da, const wg_desc &db, int acc,
                             bool tb) {
  if (da) emu_wg_check(*da, false);
  emu_wg_check(db, tb);
  const int w = (int)((emu_self->lin >> 5) & 3), l = (int)emu_lane(), g = l >> 2, t = l & 3;
  float ar[2][16];
  if (a) {
    for (int i = 0; i < 4; i++) emu_self->in[i] = a[i];
    uint64_t(*o)[EMU_SLOT] = emu_warp_op(0xffffffffu);
    for (int k = 0; k < 16; k++)
      for (int r = 0; r < 2; r++) ar[r][k] = emu_bf((uint32_t)o[4 * g + ((k & 7) >> 1)][r + 2 * (k >> 3)], k & 1);
  } else {
    for (int k = 0; k < 16; k++)
      for (int r = 0; r < 2; r++) ar[r][k] = emu_wg_el(*da, 16 * w + g + 8 * r, k, false);
  }
  for (int j = 0; j < n / 8; j++)
    for (int e = 0; e < 4; e++) {
      const int col = 8 * j + 2 * t + (e & 1);
      float s = 0.f;
      for (int k = 0; k < 16; k++) s += ar[e >> 1][k] * emu_wg_el(db, col, k, tb);
      d[4 * j + e] = acc ? d[4 * j + e] + s : s;
    }
}
template <int TB> __device__ __forceinline__ void wg_mma_ss_n64(float d[32], wg_desc da, wg_desc db, int acc) {
  emu_wgmma(d, 64, nullptr, &da, db, acc, TB);
}
template <int TB> __device__ __forceinline__ void wg_mma_rs_n64(float d[32], const u32 a[4], wg_desc db, int acc) {
  emu_wgmma(d, 64, a, nullptr, db, acc, TB);
}
template <int TB> __device__ __forceinline__ void wg_mma_ss_n128(float d[64], wg_desc da, wg_desc db, int acc) {
  emu_wgmma(d, 128, nullptr, &da, db, acc, TB);
}
template <int TB> __device__ __forceinline__ void wg_mma_rs_n128(float d[64], const u32 a[4], wg_desc db, int acc) {
  emu_wgmma(d, 128, a, nullptr, db, acc, TB);
}
__device__ __forceinline__ void wg_mma_ss_n256(float (&d)[32][4], wg_desc da, wg_desc db) {
  emu_wgmma(&d[0][0], 256, nullptr, &da, db, 1, false);
}
#endif
