import sys
src, dst = sys.argv[1], sys.argv[2]
s = open(src).read()
def sub(s, old, new):
    assert s.count(old) == 1, old
    return s.replace(old, new)
s = sub(s, "                                            const ssd_bf16 *C_next) {",
        "                                            const ssd_bf16 *C_next, float (*S)[4]) {")
s = sub(s, "  // epilogue: D skip, gate, store (ssd_seg.cuh), row by row\n",
        "  ssd_state_update(sm, S);\n  // epilogue: D skip, gate, store (ssd_seg.cuh), row by row\n")
s = sub(s, "    ssd_chunk_y(sm, wh, ch * Q, L, D, z, gn_w, gn_ss, y_, more ? C : nullptr);\n    ssd_state_update(sm, S);\n",
        "    ssd_chunk_y(sm, wh, ch * Q, L, D, z, gn_w, gn_ss, y_, more ? C : nullptr, S);\n")
open(dst, "w").write(s)
