# Session 17 call 4: the producer's `full` arrivals per lane (count 32: each lane releases its
# own copies and stores; call 3's racecheck flagged the lane-0-only arrival after __syncwarp):
# compute-sanitizer racecheck/synccheck on test_ssd_gpu with the wgmma kernel, then the whole
# GPU suite (bench/gpu.sh GPU_ONLY_TESTS=1: both SSD kernels, ops, goldens, graphs + wg_check, CLI).
O=$OUT; T=/tmp/s17c4; rm -rf $T; mkdir -p $T; nvidia-smi -L; date -u
export SSDC_MODELS=$PWD/models SSDC_CACHE_DIR=/tmp/c17
B=$T/b; mkdir -p $B
cmake -DOUT=$B/emb.c "-DIN=$(ls codegen/cuda/*.cuh | tr '\n' '|')" -P codegen/cg_embed.cmake > /dev/null
gcc -std=c17 -O2 -Iir -Icodegen -Iruntime tests/cuda/test_ssd_gpu.c runtime/rt_cuda.c runtime/rt_cuda_emu.c runtime/rt_cuda_ssd.c runtime/rt_ssm_ref.c ir/ssd_base.c codegen/cg_cache.c codegen/cg_cuda.c codegen/cg_nvrtc.c codegen/cg_emu.c $B/emb.c -ldl -lpthread -lm -o $B/test_ssd_gpu
for tool in racecheck synccheck; do
  SSDC_SSD_WG=1 timeout 100 compute-sanitizer --tool $tool --error-exitcode 9 $B/test_ssd_gpu > $T/san-$tool.log 2>&1; echo "$tool rc $?"; tail -2 $T/san-$tool.log
done
grep -m3 -A2 'Error: Race' $T/san-racecheck.log
GPU_ONLY_TESTS=1 SSDC_PREBUILT=$PWD/.prebuilt OUT=$T/t timeout 420 bash bench/gpu.sh > $T/gpu.txt 2>&1; echo "gpu.sh rc $?"
grep -E "FAILED|wgmma SSD|passed|TESTS" $T/gpu.txt $T/t/tests.log | tail -20
cp $T/san-*.log $T/t/tests.log $O/ 2>/dev/null
