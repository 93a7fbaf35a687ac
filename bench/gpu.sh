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
#   GPU_ONLY_TESTS=1 bench/gpu.sh         # tests only (DEC_NO_BENCH=0: also the decode-kernel bench)
#   GPU_SANITIZE=1 bench/gpu.sh           # also compute-sanitizer memcheck+racecheck on the tests
#   SKIP_KERNEL_BENCH=1 bench/gpu.sh      # tests + whole models only, no SSD kernel benchmarks
# With SSDC_PREBUILT set (and not GPU_ONLY_TESTS) it also benchmarks whole
# models end to end (`ssdc bench --device cuda`, mamba2-130m and -2.7b shapes)
# beside mamba_ssm's MambaLMHeadModel (bench/peer_lm.sh: configurations A and,
# where causal-conv1d's module is carried in .peers/cc_build, B; the ratios
# take the better per cell), into $OUT/e2e/ and $OUT/gpu-e2e.json.
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
  local LIB="ir/ssd_base.c codegen/cg_cache.c codegen/cg_cuda.c codegen/cg_nvrtc.c codegen/cg_emu.c $B/cg_kernels_embed.c"
  local RT="runtime/rt_cuda.c runtime/rt_cuda_emu.c runtime/rt_cuda_ssd.c"
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
# the wgmma SSD kernel (codegen/cuda/ssd_wg.cuh, opt-in) on the same cases
SSDC_SSD_WG=1 $B/test_ssd_gpu >>"$OUT/tests.log" 2>&1 || { echo "FAILED: test_ssd_gpu (wgmma)" | tee -a "$OUT/tests.log"; fail=1; }
if [ "${GPU_SANITIZE:-0}" = 1 ] && command -v compute-sanitizer >/dev/null; then
  for wg in 0 1; do # both chunked kernels; synccheck: the wgmma one's named barrier and mbarriers
    for tool in memcheck racecheck synccheck; do
      SSDC_SSD_WG=$wg compute-sanitizer --tool $tool --error-exitcode 9 $B/test_ssd_gpu \
        >"$OUT/sanitize-$tool-wg$wg.log" 2>&1 ||
        { echo "FAILED: compute-sanitizer $tool (SSDC_SSD_WG=$wg)" | tee -a "$OUT/tests.log"; fail=1; }
      tail -3 "$OUT/sanitize-$tool-wg$wg.log"
    done
  done
fi
# The decode-step kernels (GEMV, fused mixer) build and test from sources too.
DEC_NO_BENCH=${DEC_NO_BENCH:-1} OUT=$OUT/dec tests/cuda_dec/dec_gpu.sh >>"$OUT/tests.log" 2>&1 ||
  { echo "FAILED: decode kernels (tests/cuda_dec/dec_gpu.sh)" | tee -a "$OUT/tests.log"; fail=1; }
grep -E "ok |FAIL|passed|device|failures" "$OUT/tests.log" | head -80
# Whole models and the op kernels need the frontend (flex/bison), which the
# device image may lack: they come prebuilt from a machine that has it, in
# SSDC_PREBUILT (ssdc, test_ops_gpu, test_gpu_golden, test_gpu_graph; see bench/prebuild.sh).
if [ -n "${SSDC_PREBUILT:-}" ]; then
  echo "== prebuilt: op kernels, whole models, the CLI on --device cuda" | tee -a "$OUT/tests.log"
  $SSDC_PREBUILT/test_ops_gpu >>"$OUT/tests.log" 2>&1 || { echo "FAILED: test_ops_gpu" | tee -a "$OUT/tests.log"; fail=1; }
  for c in mamba2_g1 mamba2_g2 mamba2_variants mamba1 bamba; do # CUDA-graph decode == uncaptured == golden
    $SSDC_PREBUILT/test_gpu_graph tests/golden/$c >>"$OUT/tests.log" 2>&1 ||
      { echo "FAILED: graph decode $c" | tee -a "$OUT/tests.log"; fail=1; }
  done
  $SSDC_PREBUILT/test_gpu_graph --fused >>"$OUT/tests.log" 2>&1 || # fused decode == generic path
    { echo "FAILED: fused decode vs generic" | tee -a "$OUT/tests.log"; fail=1; }
  GM_BIN=$SSDC_PREBUILT/test_gpu_golden OUT=$OUT/gm tests/gpu_model/gpu_run.sh >>"$OUT/tests.log" 2>&1 ||
    { echo "FAILED: whole-model golden tests" | tee -a "$OUT/tests.log"; fail=1; }
  SSDC=$SSDC_PREBUILT/ssdc bench/cli_gpu_check.sh >>"$OUT/tests.log" 2>&1 ||
    { echo "FAILED: ssdc --device cuda" | tee -a "$OUT/tests.log"; fail=1; }
  grep -E "^(== |FAILED|ok |MISMATCH)" "$OUT/tests.log" | tail -30
fi
[ $fail = 0 ] || { echo "TESTS FAILED: no benchmarks"; exit 1; }
[ "${GPU_ONLY_TESTS:-0}" = 1 ] && exit 0

# ---- whole models end to end: ssdc bench --device cuda beside mamba_ssm's LM ----
# Each setting runs under its own timeout so that one slow setting (fp32 SSD
# prefill is one step launch per token) cannot eat the call; stdout lines are
# stamped so that the GPU memory samples can be split per benchmark row.
stamp() { while IFS= read -r l; do printf '%s %s\n' "$(date +%s.%N)" "$l"; done; }
e2e() { # name seconds ssdc-bench-args...
  local name=$1 secs=$2; shift 2
  echo "-- $name: ssdc bench --device cuda $*"
  timeout "$secs" "$SSDC_PREBUILT/ssdc" bench --device cuda --out "$E/$name.json" "$@" 2>&1 |
    stamp >"$E/$name.log"
  local rc=${PIPESTATUS[0]}
  cut -d' ' -f2- "$E/$name.log"
  [ "$rc" = 0 ] || echo "$name: exit $rc$([ "$rc" = 124 ] && echo " (timed out after ${secs}s)")"
}
memlog() { # sample device memory (MiB) every ~0.2 s until killed
  while :; do
    printf '%s %s\n' "$(date +%s.%N)" "$(nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits | head -1)"
    sleep 0.2
  done
}
if [ -n "${SSDC_PREBUILT:-}" ] && [ "${GPU_ONLY_TESTS:-0}" != 1 ]; then
  echo "== end to end" | tee "$OUT/e2e.log"
  E=$OUT/e2e
  mkdir -p "$E"
  {
    e2e 130m-bf16 60 --dtype bf16
    e2e 130m-f32 60 --dtype f32 --prefill 1x2048,8x2048
    e2e 130m-f32-16k 30 --dtype f32 --prefill 1x16384 --decode-batch ""
    memlog >"$E/mem-2.7b-bf16.log" &
    mp=$!
    e2e 2.7b-bf16 160 --dtype bf16 --set d_model=2560 --set n_layer=64
    kill $mp
    echo "-- mamba_ssm MambaLMHeadModel (anchors lm_mamba2, configurations A and B)"
    bash bench/peer_lm.sh "$E"
  } 2>&1 | tee -a "$OUT/e2e.log"
  python3 - "$E" "$OUT/gpu-e2e.json" <<'PY' 2>&1 | tee -a "$OUT/e2e.log"
# Merge the ssdc rows, mamba_ssm's anchors and the memory samples into one JSON.
import glob, json, os, sys
E, dst = sys.argv[1], sys.argv[2]
out = {"ssdc": {}, "mamba_ssm": None, "ratios_ssdc_over_mamba_ssm": {}}
sys.path.insert(0, "bench")
from peer_best import peer_raw, peer_rows
for f in sorted(glob.glob(os.path.join(E, "*.json"))):
    if not os.path.basename(f).startswith("anchors"):
        out["ssdc"][os.path.basename(f)[:-5]] = json.load(open(f))
out["mamba_ssm"] = peer_raw(E)  # A and B as measured; the ratios use the better per cell
peer = peer_rows(E)
for run, d in out["ssdc"].items():
    p = peer.get("mamba2-" + run.split("-")[0])
    if not p or "bf16" not in run:
        continue
    for r in d["results"]:
        key = (f"prefill_b{r['batch']}_L{r['L']}_ms" if r["kind"] == "prefill"
               else f"decode_b{r['batch']}_ms_per_token")
        mine = r.get("ms", r.get("ms_per_step"))
        if mine and key in p:
            out["ratios_ssdc_over_mamba_ssm"][f"{run}:{key} ({p[key][1]})"] = round(mine / p[key][0], 3)
# peak device memory per 2.7b row: samples between the row's start and end stamps
try:
    mem = [tuple(map(float, l.split())) for l in open(os.path.join(E, "mem-2.7b-bf16.log")) if len(l.split()) == 2]
    lines = [l.split(" ", 1) for l in open(os.path.join(E, "2.7b-bf16.log"))]
    base = mem[0][1]
    peaks, t0 = {"before_MiB": base}, float(lines[0][0]) if lines else 0
    for t, txt in lines:
        t = float(t)
        win = [m for s, m in mem if t0 <= s <= t]
        tag = " ".join(txt.split()[:2])
        if win:
            peaks[tag] = max(win)
        t0 = t
    peaks["max_MiB"] = max(m for _, m in mem)
    out["device_memory_used_MiB_2.7b_bf16"] = peaks
except Exception as e:
    out["device_memory_used_MiB_2.7b_bf16"] = {"error": repr(e)}
json.dump(out, open(dst, "w"), indent=1)
for k, v in out["ratios_ssdc_over_mamba_ssm"].items():
    print(f"ratio {k}: {v}")
print("memory (MiB used, device-wide):", out["device_memory_used_MiB_2.7b_bf16"])
PY
fi
[ "${SKIP_KERNEL_BENCH:-0}" = 1 ] && exit 0

echo "== benchmarks"
$B/bench_ssd_gpu "$OUT/ssdc_gpu.json" 2>&1 | tee "$OUT/bench.log" || { echo "BENCH FAILED"; exit 1; }
if [ -d .peers/mamba_ssm ]; then
  PYTHONUNBUFFERED=1 PYTHONPATH=.peers python3 bench/bench_ssd_peer.py "$OUT/peer.json" >>"$OUT/bench.log" 2>&1 &&
    python3 bench/gpu_merge.py "$OUT/ssdc_gpu.json" "$OUT/peer.json" "$OUT/gpu-results.json" ||
    { tail -20 "$OUT/bench.log"; echo "PEER BENCH FAILED"; exit 1; }
else
  echo "no .peers/mamba_ssm: peer not measured"
fi
