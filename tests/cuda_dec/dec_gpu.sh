#!/usr/bin/env bash
# dec_gpu.sh: the device-machine script for the decode-step kernels
# (codegen/cg_cuda_dec.c, runtime/rt_cuda_dec.c).  In one call it builds
# straight from sources with the C compiler (the device image may lack
# flex/bison; nothing here needs the frontend), runs the NVRTC compile test
# and the GPU test, then, only if both pass, bench/bench_dec_gpu, writing
# under $OUT: build.log tests.log bench.log gpu-dec.json (sanitize-*.log).
# Usage (repo root or a copy of it, on the device):
#   OUT=/some/dir tests/cuda_dec/dec_gpu.sh
#   DEC_SANITIZE=1 ...   then also compute-sanitizer memcheck and racecheck on the
#                        GPU test (each under DEC_SANITIZE_TIMEOUT seconds, 90)
#   DEC_NO_BENCH=1 ...   no benchmark
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-/tmp/ssdc-dec-out}
B=${B:-build-dec}
mkdir -p "$OUT" "$B"
export SSDC_CACHE_DIR=${SSDC_CACHE_DIR:-$B/cache}
{ date -u; nvidia-smi -L || true; gcc --version | head -1; } >"$OUT/build.log" 2>&1

build() {
  cmake -DOUT=$B/cg_kernels_embed.c "-DIN=$(ls codegen/cuda/*.cuh | tr '\n' '|')" \
    -P codegen/cg_embed.cmake || return 1
  local CF="-std=c17 -O2 -g -Wall -Wextra -Werror -Iir -Icodegen -Iruntime -Itests/cuda_dec"
  local LIB="ir/ssd_base.c codegen/cg_cache.c codegen/cg_cuda.c codegen/cg_nvrtc.c codegen/cg_emu.c
             codegen/cg_cuda_dec.c codegen/cg_cuda_ops.c $B/cg_kernels_embed.c"
  local RT="runtime/rt_cuda.c runtime/rt_cuda_emu.c runtime/rt_cuda_dec.c"
  gcc $CF tests/cuda_dec/test_dec_nvrtc.c $LIB -ldl -lpthread -lm -o $B/test_dec_nvrtc &&
    gcc $CF tests/cuda_dec/test_dec_gpu.c $RT runtime/rt_ops.c runtime/rt_pool.c \
      runtime/rt_ssm_ref.c $LIB -ldl -lpthread -lm -o $B/test_dec_gpu &&
    gcc $CF bench/bench_dec_gpu.c $RT runtime/rt_cublaslt.c runtime/rt_cuda_exec.c $LIB \
      -ldl -lpthread -lm -o $B/bench_dec_gpu
}
if ! build >>"$OUT/build.log" 2>&1; then tail -30 "$OUT/build.log"; echo "BUILD FAILED"; exit 1; fi

fail=0
for t in test_dec_nvrtc test_dec_gpu; do
  $B/$t >>"$OUT/tests.log" 2>&1 || { echo "FAILED: $t" >>"$OUT/tests.log"; fail=1; }
done
grep -E "^(ok|FAIL|     )|failures|device" "$OUT/tests.log"
[ $fail = 0 ] || { echo "TESTS FAILED: no benchmark"; exit 1; }
if [ "${DEC_NO_BENCH:-0}" != 1 ]; then
  $B/bench_dec_gpu "$OUT/gpu-dec.json" 2>&1 | tee "$OUT/bench.log"
  [ "${PIPESTATUS[0]}" = 0 ] || { echo "FAILED: bench_dec_gpu"; fail=1; }
fi
# After the benchmark, so that a slow sanitizer run cannot cost the numbers.
if [ "${DEC_SANITIZE:-0}" = 1 ] && command -v compute-sanitizer >/dev/null; then
  for tool in memcheck racecheck; do
    timeout "${DEC_SANITIZE_TIMEOUT:-90}" compute-sanitizer --tool $tool --error-exitcode 9 \
      $B/test_dec_gpu >"$OUT/sanitize-$tool.log" 2>&1 ||
      { echo "FAILED: compute-sanitizer $tool (exit $?)"; fail=1; }
    echo "== compute-sanitizer $tool"; grep -E "ERROR SUMMARY|test_dec_gpu:" "$OUT/sanitize-$tool.log"
  done
fi
exit $fail
