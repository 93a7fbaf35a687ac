# Session 14 call 1: the wgmma SSD kernel (ssd_wg.cuh) on the GPU: SSD tests for both
# kernels, the SSD benchmark for both, goldens/graphs, 2.7b prefill A/B (A = SSDC_SSD_WG=0)
O=$OUT; T=/tmp/s14c1; rm -rf $T; mkdir -p $T; nvidia-smi -L; date -u
export SSDC_CACHE_DIR=/tmp/c1
B=$T/b; mkdir -p $B
cmake -DOUT=$B/emb.c "-DIN=$(ls codegen/cuda/*.cuh | tr '\n' '|')" -P codegen/cg_embed.cmake > /dev/null
CF="-std=c17 -O2 -Wall -Wextra -Werror -Iir -Icodegen -Iruntime"
LIB="ir/ssd_base.c codegen/cg_cache.c codegen/cg_cuda.c codegen/cg_nvrtc.c codegen/cg_emu.c $B/emb.c"
RT="runtime/rt_cuda.c runtime/rt_cuda_emu.c runtime/rt_cuda_ssd.c"
gcc $CF tests/cuda/test_ssd_gpu.c $RT runtime/rt_ssm_ref.c $LIB -ldl -lpthread -lm -o $B/test_ssd_gpu || echo BUILD1 FAILED
gcc $CF bench/bench_ssd_gpu.c $RT $LIB -ldl -lpthread -lm -o $B/bench_ssd_gpu || echo BUILD2 FAILED
for v in wg mma; do
  w=1; [ $v = mma ] && w=0
  SSDC_SSD_WG=$w timeout 150 $B/test_ssd_gpu > $T/ssd-$v.log 2>&1; echo "test_ssd_gpu $v rc $?"
  grep -E "FAIL|passed" $T/ssd-$v.log | head -8; cp $T/ssd-$v.log $O/
done
for v in wg mma; do
  w=1; [ $v = mma ] && w=0
  SSDC_SSD_WG=$w timeout 120 $B/bench_ssd_gpu $T/$v.json > $T/bench-$v.log 2>&1; echo "bench $v rc $?"; cp $T/bench-$v.log $T/$v.json $O/
done
paste <(grep -E "^ *[0-9]+x" $T/bench-mma.log | head -14) <(grep -E "^ *[0-9]+x" $T/bench-wg.log | head -14) | cut -c1-200
GM_BIN=$PWD/.prebuilt/test_gpu_golden OUT=$T/gm timeout 120 bash tests/gpu_model/gpu_run.sh > $T/gm.txt 2>&1; echo "goldens rc $?"; grep -E "FAIL|passed|MISMATCH" $T/gm.txt | tail -4
for c in mamba2_g2 bamba; do timeout 60 .prebuilt/test_gpu_graph tests/golden/$c > $T/graph-$c.log 2>&1; echo "graph $c rc $?"; done
A=.prebuilt/ssdc-mma B=.prebuilt/ssdc ONLY='2.7b-pre' OUT=$T/ab timeout 250 bash bench/ab_gpu.sh 1 > $T/ab.txt 2>&1; echo "ab rc $?"; cp $T/ab.txt $O/ab.txt; grep -E "prefill|setting" $T/ab.txt
