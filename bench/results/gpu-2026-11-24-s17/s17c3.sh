# Session 17 call 3: after the fix (get_ssd keeps its key in spec, so the launch took the
# key's 128 threads: no producer warp, the model hung), the wgmma kernel in the model:
# test_gpu_graph --fused (wg_check: wgmma vs default logits, every node on it), compute-sanitizer
# memcheck/racecheck/synccheck on test_ssd_gpu with the wgmma kernel, then 2.7b prefill
# default vs SSDC_SSD_WG=1 (same binary, 1 round).
O=$OUT; T=/tmp/s17c3; rm -rf $T; mkdir -p $T; nvidia-smi -L; date -u
export SSDC_MODELS=$PWD/models SSDC_CACHE_DIR=/tmp/c17
B=$T/b; mkdir -p $B
cmake -DOUT=$B/emb.c "-DIN=$(ls codegen/cuda/*.cuh | tr '\n' '|')" -P codegen/cg_embed.cmake > /dev/null
gcc -std=c17 -O2 -Iir -Icodegen -Iruntime tests/cuda/test_ssd_gpu.c runtime/rt_cuda.c runtime/rt_cuda_emu.c runtime/rt_cuda_ssd.c runtime/rt_ssm_ref.c ir/ssd_base.c codegen/cg_cache.c codegen/cg_cuda.c codegen/cg_nvrtc.c codegen/cg_emu.c $B/emb.c -ldl -lpthread -lm -o $B/test_ssd_gpu
timeout 200 .prebuilt/test_gpu_graph --fused > $T/fused.log 2>&1; echo "fused rc $?"; grep -E "wgmma|FAIL|passed" $T/fused.log | head -12
for tool in synccheck racecheck memcheck; do
  SSDC_SSD_WG=1 timeout 100 compute-sanitizer --tool $tool --error-exitcode 9 $B/test_ssd_gpu > $T/san-$tool.log 2>&1; echo "$tool rc $?"; tail -2 $T/san-$tool.log
done
A=.prebuilt/ssdc B=.prebuilt/ssdc-wg ONLY='^2.7b-pre$' PEER=0 OUT=$T/ab timeout 220 bash bench/ab_gpu.sh 1 > $T/ab.txt 2>&1; echo "ab rc $?"; tail -8 $T/ab.txt
cp $T/fused.log $T/san-*.log $T/ab.txt $O/ 2>/dev/null
