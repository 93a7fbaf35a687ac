# Session 22 call 1: is a narrower channel slice faster for short sequences?
# bench_ssd_gpu OUT sweep-ps (1x512..1x8K, ps 16/32/64, every segment length),
# the look-back timeline at 1x1K for each ps (probe with SSD_LINK_PROF, the
# generated 2.7b kernel at the model's strides), and mamba_ssm's
# mamba_chunk_scan_combined on the same shapes in the same call.
O=$OUT; T=/tmp/s22c1; rm -rf $T; mkdir -p $T; nvidia-smi -L; date -u
B=$T/b; mkdir -p $B
cmake -DOUT=$B/emb.c "-DIN=$(ls codegen/cuda/*.cuh | tr '\n' '|')" -P codegen/cg_embed.cmake > /dev/null
gcc -std=c17 -O2 -Iir -Icodegen -Iruntime bench/bench_ssd_gpu.c runtime/rt_cuda.c runtime/rt_cuda_emu.c runtime/rt_cuda_ssd.c ir/ssd_base.c codegen/cg_cache.c codegen/cg_cuda.c codegen/cg_nvrtc.c codegen/cg_emu.c $B/emb.c -ldl -lpthread -lm -o $B/bench_ssd_gpu
gcc -std=c17 -O2 -Iir -Icodegen -Iruntime bench/results/gpu-2026-11-25-s20/gen_ssd.c codegen/cg_cuda.c codegen/cg_emu.c ir/ssd_base.c $B/emb.c -lm -o $B/gen 2>&1 | tail -3
export SSDC_CACHE_DIR=/tmp/c22a
timeout 240 $B/bench_ssd_gpu $O/sweepps.json sweep-ps > $O/sweepps.log 2>&1; echo "sweep rc $?"
for ps in 16 32 64; do
  PS=$ps NOINIT=1 $B/gen 0 128 > bench/k$ps.cu
  timeout 120 nvcc -Ibench -I. -gencode arch=compute_90,code=sm_90 -std=c++17 -DKSRC="\"k$ps.cu\"" -DSMEM_T=ssd_smem -DSSD_LINK_PROF=1 bench/ssd_phase_prof.cu -o $T/p$ps 2>&1 | grep -v Warn | head -5
done
for ps in 16 32 64; do for sc in 16 8 4 3 2; do echo "== ps $ps sc $sc"; timeout 30 $T/p$ps 1 1024 $sc; done; done > $O/linkprof.txt 2>&1
PYTHONUNBUFFERED=1 PYTHONPATH=.peers timeout 200 python3 bench/bench_ssd_peer.py $O/peer.json > $O/peer.log 2>&1; echo "peer rc $?"
grep -E "^ *1x(512|1024|2048|4096|8192) " $O/sweepps.log | sort -k3,3n -k1,1 | awk '{print}' | head -5
python3 - $O/sweepps.json <<'PY'
import json,sys
d=json.load(open(sys.argv[1]))["sweep"]
best={}
for r in d:
    k=(r["batch"],r["L"],r["ps"]); 
    if k not in best or r["ms"]<best[k]["ms"]: best[k]=r
for k in sorted(best): r=best[k]; print(k, "best seg_chunks", r["seg_chunks"], "segs", r["segments"], "%.4f ms"%r["ms"])
pol={(r["batch"],r["L"],r["ps"]):r["ms"] for r in d if r["seg_chunks"]==0}
for k in sorted(pol): print(k, "policy %.4f"%pol[k])
PY
grep -A3 "chunked" $O/peer.log | head; tail -5 $O/peer.log
