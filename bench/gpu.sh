#!/usr/bin/env bash
# gpu.sh: the one device-machine script for ssdc's CUDA backend.  In one call
# it builds the CUDA pieces, runs the GPU tests (and the CPU-side NVRTC/cache
# tests, since the toolkit is there), then — only if every test passed —
# benchmarks ssdc's kernels and mamba_ssm's on the same shapes, writing logs
# and JSON under $OUT:
#   build.log tests.log bench.log ssdc_gpu.json peer.json gpu-results.json
# It compiles its sources straight with the C compiler instead of configuring
# the whole CMake project: the device image may lack flex/bison, and the GPU
# path needs nothing from the frontend.  Usage (repo root, on the device):
#   OUT=/some/dir bench/gpu.sh            # tests + benchmarks
#   GPU_ONLY_TESTS=1 bench/gpu.sh         # tests only
#   GPU_SANITIZE=1 bench/gpu.sh           # also compute-sanitizer memcheck+racecheck on the tests
# mamba_ssm is read from .peers/ (never committed; see bench/NOTES.md).
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/ssdc-gpu-out}
B=build-gpu
mkdir -p "$OUT" "$B"
export SSDC_CACHE_DIR=${SSDC_CACHE_DIR:-$B/cache}

{
  echo "== machine"; date -u; nvidia-smi -L || true; nvcc --version | tail -1 || true
  for t in flex bison cmake gcc clang python3; do printf '%s: %s\n' $t "$(command -v $t || echo missing)"; done
} 2>&1 | tee "$OUT/build.log"

build() {
  cmake -DOUT=$B/cg_kernels_embed.c "-DIN=$(ls codegen/cuda/*.cuh | tr '\n' '|')" -P codegen/cg_embed.cmake || return 1
  local CF="-std=c17 -O2 -g -Wall -Wextra -Werror -Iir -Icodegen -Iruntime"
  local LIB="ir/ssd_base.c codegen/cg_cache.c codegen/cg_cuda.c codegen/cg_nvrtc.c $B/cg_kernels_embed.c"
  local RT="runtime/rt_cuda.c runtime/rt_cuda_ssd.c"
  gcc $CF tests/cuda/test_cg_cache.c $LIB -ldl -lpthread -lm -o $B/test_cg_cache &&
  gcc $CF tests/cuda/test_cg_nvrtc.c $LIB -ldl -lpthread -lm -o $B/test_cg_nvrtc &&
  gcc $CF tests/cuda/test_ssd_gpu.c $RT runtime/rt_ssm_ref.c $LIB -ldl -lpthread -lm -o $B/test_ssd_gpu &&
  gcc $CF bench/bench_ssd_gpu.c $RT $LIB -ldl -lpthread -lm -o $B/bench_ssd_gpu
}
echo "== build" | tee -a "$OUT/build.log"
if ! build >>"$OUT/build.log" 2>&1; then tail -30 "$OUT/build.log"; echo "BUILD FAILED"; exit 1; fi

echo "== tests" | tee "$OUT/tests.log"
fail=0
for t in test_cg_cache test_cg_nvrtc test_ssd_gpu; do
  if ! $B/$t >>"$OUT/tests.log" 2>&1; then echo "FAILED: $t" | tee -a "$OUT/tests.log"; fail=1; fi
done
if [ "${GPU_SANITIZE:-0}" = 1 ] && command -v compute-sanitizer >/dev/null; then
  for tool in memcheck racecheck; do
    compute-sanitizer --tool $tool --error-exitcode 9 $B/test_ssd_gpu >"$OUT/sanitize-$tool.log" 2>&1 ||
      { echo "FAILED: compute-sanitizer $tool" | tee -a "$OUT/tests.log"; fail=1; }
    tail -3 "$OUT/sanitize-$tool.log"
  done
fi
grep -E "ok |FAIL|passed|device" "$OUT/tests.log" | head -60
# Whole models and the op kernels need the frontend (flex/bison), which the
# device image may lack: they come prebuilt from a machine that has it, in
# SSDC_PREBUILT (ssdc, test_ops_gpu, test_gpu_golden; see bench/prebuild.sh).
if [ -n "${SSDC_PREBUILT:-}" ]; then
  echo "== prebuilt: op kernels, whole models, the CLI on --device cuda" | tee -a "$OUT/tests.log"
  $SSDC_PREBUILT/test_ops_gpu >>"$OUT/tests.log" 2>&1 || { echo "FAILED: test_ops_gpu" | tee -a "$OUT/tests.log"; fail=1; }
  GM_BIN=$SSDC_PREBUILT/test_gpu_golden OUT=$OUT/gm tests/gpu_model/gpu_run.sh >>"$OUT/tests.log" 2>&1 ||
    { echo "FAILED: whole-model golden tests" | tee -a "$OUT/tests.log"; fail=1; }
  SSDC=$SSDC_PREBUILT/ssdc bench/cli_gpu_check.sh >>"$OUT/tests.log" 2>&1 ||
    { echo "FAILED: ssdc --device cuda" | tee -a "$OUT/tests.log"; fail=1; }
  grep -E "^(== |FAILED|ok |MISMATCH)" "$OUT/tests.log" | tail -30
fi
[ $fail = 0 ] || { echo "TESTS FAILED: no benchmarks"; exit 1; }
[ "${GPU_ONLY_TESTS:-0}" = 1 ] && exit 0

echo "== benchmarks"
$B/bench_ssd_gpu "$OUT/ssdc_gpu.json" 2>&1 | tee "$OUT/bench.log" || { echo "BENCH FAILED"; exit 1; }
if [ -d .peers/mamba_ssm ]; then
  PYTHONUNBUFFERED=1 PYTHONPATH=.peers python3 bench/bench_ssd_peer.py "$OUT/peer.json" >>"$OUT/bench.log" 2>&1 &&
    python3 bench/gpu_merge.py "$OUT/ssdc_gpu.json" "$OUT/peer.json" "$OUT/gpu-results.json" ||
    { tail -20 "$OUT/bench.log"; echo "PEER BENCH FAILED"; exit 1; }
else
  echo "no .peers/mamba_ssm: peer not measured"
fi
