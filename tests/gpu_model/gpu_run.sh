#!/usr/bin/env bash
# gpu_run.sh: the whole-model GPU test (tests/gpu_model/test_gpu_golden.c)
# on a machine with a GPU, from the repo root; logs under $OUT.
#   GM_BIN=path/to/test_gpu_golden OUT=/dir tests/gpu_model/gpu_run.sh
# GM_BIN: a test binary built elsewhere with the full cmake tree (the device
# image may lack flex/bison for the frontend); without it, cmake builds one.
# Each golden case runs in its own process so one failure hides no other.
# GPU_SANITIZE=1 adds a compute-sanitizer memcheck run of two small cases;
# GM_TIMEOUT: seconds per process (default 240).
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-/tmp/ssdc-gm-out}
mkdir -p "$OUT"
export SSDC_CACHE_DIR=${SSDC_CACHE_DIR:-/tmp/ssdc-gm-cache}
. tests/gpu_model/cuda_env.sh
BIN=${GM_BIN:-}
if [ -z "$BIN" ]; then
  cmake -S . -B build-gm-gpu -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$OUT/build.log" 2>&1 &&
    cmake --build build-gm-gpu --target test_gpu_golden -j8 >>"$OUT/build.log" 2>&1 ||
    { tail -30 "$OUT/build.log"; exit 1; }
  BIN=build-gm-gpu/tests/test_gpu_golden
fi
rc=0
for c in mamba2_g1 mamba2_g2 mamba2_variants mamba1 bamba; do
  timeout "${GM_TIMEOUT:-240}" "$BIN" tests/golden/$c >"$OUT/$c.log" 2>&1
  r=$?
  cat "$OUT/$c.log"
  echo "== $c: exit $r"
  [ $r = 0 ] || rc=1
done
if [ "${GPU_SANITIZE:-0}" = 1 ] && command -v compute-sanitizer >/dev/null; then
  for c in mamba2_g1 bamba; do
    timeout "${GM_TIMEOUT:-240}" compute-sanitizer --tool memcheck --error-exitcode 9 "$BIN" tests/golden/$c \
      >"$OUT/memcheck_$c.log" 2>&1 || rc=9
    tail -3 "$OUT/memcheck_$c.log"
  done
fi
exit $rc
