# Session 15 call 8: compute-sanitizer memcheck and racecheck on test_ssd_gpu (both chunked kernels)
# at the committed code, and bench_ssd_gpu of the wgmma kernel (221 registers since the look-back change)
O=$OUT; T=/tmp/s15c8; rm -rf $T; mkdir -p $T; nvidia-smi -L; date -u
B=$T/b; mkdir -p $B
cmake -DOUT=$B/emb.c "-DIN=$(ls codegen/cuda/*.cuh | tr '\n' '|')" -P codegen/cg_embed.cmake > /dev/null
for p in bench/bench_ssd_gpu tests/cuda/test_ssd_gpu; do
  gcc -std=c17 -O2 -Iir -Icodegen -Iruntime $p.c runtime/rt_cuda.c runtime/rt_cuda_emu.c runtime/rt_cuda_ssd.c runtime/rt_ssm_ref.c ir/ssd_base.c codegen/cg_cache.c codegen/cg_cuda.c codegen/cg_nvrtc.c codegen/cg_emu.c $B/emb.c -ldl -lpthread -lm -o $B/$(basename $p) &
done; wait
export SSDC_CACHE_DIR=/tmp/c8
for w in 0 1; do SSDC_SSD_WG=$w timeout 100 $B/bench_ssd_gpu $T/wg$w.json > $T/bench-wg$w.log 2>&1; echo "bench wg=$w rc $?"; done
paste <(grep -E "^ *[0-9]+x" $T/bench-wg0.log | cut -c1-50) <(grep -E "^ *[0-9]+x" $T/bench-wg1.log | cut -c40-50)
for w in 0 1; do for tool in memcheck racecheck; do
  SSDC_SSD_WG=$w timeout 200 compute-sanitizer --tool $tool --error-exitcode 9 $B/test_ssd_gpu > $T/san-$tool-wg$w.log 2>&1; echo "wg=$w $tool rc $?"; tail -2 $T/san-$tool-wg$w.log
done; done
cp $T/bench-wg*.log $T/san-*.log $O/
