#!/usr/bin/env bash
# gpu_run.sh: build and run the GPU executor's tests on the device machine
# (repo root; logs under $OUT).  Compiles straight with gcc, as bench/gpu.sh
# does, since the device image may lack flex/bison for a full configure.
#   OUT=/dir tests/cuda_exec/gpu_run.sh
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-/tmp/ssdc-cx-out}
B=build-cx-gpu
mkdir -p "$OUT" "$B"
export SSDC_CACHE_DIR=${SSDC_CACHE_DIR:-$B/cache}
if [ -z "${SSDC_CUBLASLT:-}" ]; then
  lt=$(ls /usr/local/cuda/lib64/libcublasLt.so* 2>/dev/null | head -1)
  [ -n "$lt" ] || lt=$(python3 -c 'import nvidia.cublas,os;d=os.path.join(nvidia.cublas.__path__[0],"lib");print(os.path.join(d,sorted(f for f in os.listdir(d) if f.startswith("libcublasLt.so"))[0]))' 2>/dev/null)
  [ -n "$lt" ] && export SSDC_CUBLASLT=$lt
fi
echo "cublasLt: ${SSDC_CUBLASLT:-default}"
cmake -DOUT=$B/cg_kernels_embed.c "-DIN=$(ls codegen/cuda/*.cuh | tr '\n' '|')" -P codegen/cg_embed.cmake || exit 1
CF="-std=c17 -O2 -g -Wall -Wextra -Werror -Iir -Icodegen -Iruntime"
LIB="ir/ssd_base.c codegen/cg_cache.c codegen/cg_cuda.c codegen/cg_nvrtc.c codegen/cg_emu.c codegen/cg_cuda_ops.c $B/cg_kernels_embed.c"
RT="runtime/rt_cuda.c runtime/rt_cuda_emu.c runtime/rt_cuda_exec.c runtime/rt_cublaslt.c runtime/rt_ops.c runtime/rt_pool.c runtime/rt_ssm_ref.c"
gcc $CF tests/cuda_exec/test_ops_gpu.c $RT $LIB -ldl -lpthread -lm -o $B/test_ops_gpu 2>&1 | tee "$OUT/build.log" || exit 1
[ -x $B/test_ops_gpu ] || exit 1
$B/test_ops_gpu ${GPU_BENCH:+--bench} 2>&1 | tee "$OUT/test_ops_gpu.log"
rc=${PIPESTATUS[0]}
if [ "${GPU_SANITIZE:-0}" = 1 ] && command -v compute-sanitizer >/dev/null; then
  compute-sanitizer --tool memcheck --error-exitcode 9 $B/test_ops_gpu >"$OUT/memcheck.log" 2>&1 || rc=9
  tail -3 "$OUT/memcheck.log"
fi
exit $rc
