# Session 20 call 2: variants of the generated chunked SSD kernel with the
# folded gated norm (gen 0 128 g: the 2.7b anchor shape at in_proj's strides),
# each one piece of the gate's epilogue removed or changed, for
# bench/ssd_phase_prof.cu.  python3 variants.py DIR (reads DIR/g.cu).
import sys
d = sys.argv[1]
g = open(f"{d}/g.cu").read()
def sub(s, old, new):
    assert old in s, old
    return s.replace(old, new)
silu = "__device__ __forceinline__ float ssd_silu(float v) { return __fdividef(v, 1.f + __expf(-v)); }"
tanh = ("__device__ __forceinline__ float ssd_silu(float v) { float t; asm(\"tanh.approx.f32 %0, %1;\" : \"=f\"(t) : \"f\"(0.5f * v));"
        " return 0.5f * v * (1.f + t); }")
nogw_old = "    const float2 wv = *(const float2 *)&gw[j * 8];\n    v0 *= wv.x;\n    v1 *= wv.y;\n"
v = {}
v["tanh"] = sub(g, silu, tanh)
v["nogw"] = sub(g, nogw_old, "")
v["tanh_nogw"] = sub(v["tanh"], nogw_old, "")
noz = sub(g, "      const u32 zp = *(const u32 *)&zr[j * 8];\n      zv = make_float2(bf2_lo(zp), bf2_hi(zp));",
          "      zv = make_float2(1.f, 1.f);")
noz = sub(noz, "  ssd_load_z(sm.s, wh, z, L, t0);\n", "")
noz = sub(noz, "  cp_async_wait_group<1>(); /* the gate's rows; C_next's copy may still fly */\n", "")
v["noload"] = noz
v["glob"] = sub(g, "#define SSD_Z_TILE 1", "#define SSD_Z_TILE 0")
for k, s in v.items():
    open(f"{d}/g_{k}.cu", "w").write(s)
print(" ".join(sorted(v)))
