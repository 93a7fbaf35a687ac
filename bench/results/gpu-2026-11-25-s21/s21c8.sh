# Session 21 call 8: the segment policy against the changed kernel: the
# segment-length sweep (bench_ssd_gpu OUT sweep, built here as bench/gpu.sh
# does), and the probe of the committed source (`new`) at 1x16K over the
# lengths the sweep's list skips (18: the policy's pick, 26: its ladder's
# ten-segment candidate, 27, 22), 3 rounds.
O=$OUT; T=/tmp/s21c8; rm -rf $T; mkdir -p $T; nvidia-smi -L; date -u
B=$T/b; mkdir -p $B
cmake -DOUT=$B/emb.c "-DIN=$(ls codegen/cuda/*.cuh | tr '\n' '|')" -P codegen/cg_embed.cmake > /dev/null
gcc -std=c17 -O2 -Iir -Icodegen -Iruntime bench/bench_ssd_gpu.c runtime/rt_cuda.c runtime/rt_cuda_emu.c runtime/rt_cuda_ssd.c ir/ssd_base.c codegen/cg_cache.c codegen/cg_cuda.c codegen/cg_nvrtc.c codegen/cg_emu.c $B/emb.c -ldl -lpthread -lm -o $B/bench_ssd_gpu
export SSDC_CACHE_DIR=/tmp/c21c
timeout 400 $B/bench_ssd_gpu $O/sweep.json sweep > $O/sweep.log 2>&1; echo "sweep rc $?"
for r in 1 2 3; do for sc in 18 26 27 22; do echo -n "r$r "; timeout 30 .prebuilt/probes/new 1 16384 $sc | head -1; done; done 2>&1 | tee $O/probe16k.txt
