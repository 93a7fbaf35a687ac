# Session 25 call 7: the epilogue's staging in two halves that alternate
# (rounds of two boxes; one half drains while the other is written) against
# call 6's four-box rounds (.prev_gw/gemm_wg.cuh: `git show c454890:bench/gemm_wg.cuh`, an
# untracked copy carried for this call), same call.
set -x
mkdir -p /tmp/old/bench /tmp/old/codegen/cuda
cp codegen/cuda/ssd_common.cuh /tmp/old/codegen/cuda/ && cp .prev_gw/gemm_wg.cuh bench/gemm_probe.cu bench/probe_util.cuh /tmp/old/bench/
b() { nvcc -std=c++17 -O3 -gencode arch=compute_90a,code=sm_90a "$@" -lcublasLt -lcuda; }
for e in 0 1; do
  b -Icodegen/cuda -DGW_EPI=$e bench/gemm_probe.cu -o new$e || exit 1
  b -I/tmp/old/codegen/cuda -DGW_EPI=$e /tmp/old/bench/gemm_probe.cu -o old$e || exit 1
done
for e in 1 0; do for r in 1 2; do for v in old new; do
  timeout 60 ./$v$e 16384 16 > $OUT/$v$e-$r.log 2>&1; echo "rc $?" >> $OUT/$v$e-$r.log
  echo "== $v$e round $r"; grep -E "check|cuBLASLt  best|band|no epi|60 runs" $OUT/$v$e-$r.log
done; done; done
