# Session 15 call 4: link profile (fragment-major look-back states, all-thread vs thread-0 fence), then
# GPU tests of the working tree, bench_ssd_gpu old (HEAD) / new twice, mamba_ssm SSD, segment sweep
O=$OUT; T=/tmp/s15c4; rm -rf $T; mkdir -p $T; nvidia-smi -L; date -u
bld() {
  mkdir -p $2
  (cd $1 && cmake -DOUT=$2/emb.c "-DIN=$(ls codegen/cuda/*.cuh | tr '\n' '|')" -P codegen/cg_embed.cmake >/dev/null &&
   for p in bench/bench_ssd_gpu tests/cuda/test_ssd_gpu; do
     gcc -std=c17 -O2 -Iir -Icodegen -Iruntime $p.c runtime/rt_cuda.c runtime/rt_cuda_emu.c runtime/rt_cuda_ssd.c runtime/rt_ssm_ref.c ir/ssd_base.c codegen/cg_cache.c codegen/cg_cuda.c codegen/cg_nvrtc.c codegen/cg_emu.c $2/emb.c -ldl -lpthread -lm -o $2/$(basename $p) || exit 1
   done)
}
for k in mma mma_f0; do
  nvcc -I. -I.prebuilt/prof -gencode arch=compute_90a,code=sm_90a -std=c++17 -DSSD_LINK_PROF=1 -DKSRC="\"$k.cu\"" -DSMEM_T=ssd_smem bench/ssd_phase_prof.cu -o $T/$k 2>&1 | grep -v Wno &
done
bld $PWD $T/new & bld $PWD/.prebuilt/head $T/old & wait
for k in mma mma_f0; do
  for a in "1 1024 4" "1 1024 2" "1 16384 18" "1 2048 8"; do echo "== $k $a"; $T/$k $a; done
done 2>&1 | tee $T/linkprof.txt | grep -E "==|per launch|^ *[0-9]+ "
ls $T/new $T/old
export SSDC_CACHE_DIR=/tmp/c1
for w in 0 1; do SSDC_SSD_WG=$w timeout 150 $T/new/test_ssd_gpu > $T/test-wg$w.log 2>&1; echo "test wg=$w rc $?"; grep -cE "^ *ok|PASS" $T/test-wg$w.log; grep -E "FAIL|passed|segments" $T/test-wg$w.log | tail -12; done
for r in 1 2; do for v in old new; do timeout 100 $T/$v/bench_ssd_gpu $T/$v$r.json > $T/$v$r.log 2>&1; echo "bench $v$r rc $?"; done; done
SECTIONS=ssd_fwd_vs_L OUT=$T PYTHONUNBUFFERED=1 PYTHONPATH=.peers timeout 150 python3 .peers/anchors_section.py > $T/peer.log 2>&1; echo "peer rc $?"
python3 -c "
import json; d=json.load(open('$T/anchors.json'))
for r in d.get('ssd_fwd_h80_p64_n128_g1_c256_bf16',[]): print('peer',r['batch'],r['L'],round(r['ms'],4))
"
for v in old1 new1 old2 new2; do echo "== $v"; grep -E "^ *[0-9]+x" $T/$v.log | head -15 | cut -c1-50; done
timeout 220 $T/new/bench_ssd_gpu $T/sweep.json sweep > $T/sweep.log 2>&1; echo "sweep rc $?"
grep -E "^ *1x(512|1024|2048|4096) " $T/sweep.log; cp $T/linkprof.txt $T/new1.log $T/old1.log $T/sweep.json $T/test-wg0.log $T/test-wg1.log $O/
