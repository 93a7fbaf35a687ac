# Session 15 call 9: compute-sanitizer racecheck on test_ssd_gpu after phase 3's scans stopped
# summing seglog (call 8's hazards: the link's read of seglog vs the first phase-3 scan's write)
O=$OUT; T=/tmp/s15c9; rm -rf $T; mkdir -p $T; nvidia-smi -L; date -u
B=$T/b; mkdir -p $B
cmake -DOUT=$B/emb.c "-DIN=$(ls codegen/cuda/*.cuh | tr '\n' '|')" -P codegen/cg_embed.cmake > /dev/null
gcc -std=c17 -O2 -Iir -Icodegen -Iruntime tests/cuda/test_ssd_gpu.c runtime/rt_cuda.c runtime/rt_cuda_emu.c runtime/rt_cuda_ssd.c runtime/rt_ssm_ref.c ir/ssd_base.c codegen/cg_cache.c codegen/cg_cuda.c codegen/cg_nvrtc.c codegen/cg_emu.c $B/emb.c -ldl -lpthread -lm -o $B/test_ssd_gpu
export SSDC_CACHE_DIR=/tmp/c9
for w in 0 1; do
  SSDC_SSD_WG=$w timeout 100 $B/test_ssd_gpu > $T/test-wg$w.log 2>&1; echo "wg=$w test rc $?"; tail -1 $T/test-wg$w.log
  SSDC_SSD_WG=$w timeout 200 compute-sanitizer --tool racecheck --error-exitcode 9 $B/test_ssd_gpu > $T/san-racecheck-wg$w.log 2>&1; echo "wg=$w racecheck rc $?"; tail -2 $T/san-racecheck-wg$w.log
done
cp $T/*.log $O/
