#!/usr/bin/env bash
# graph_run.sh: CUDA-graph decode on a machine with a GPU, from the repo root;
# logs under $OUT.  Runs, each in its own process:
#  - test_ops_gpu and test_ssd_gpu (the op and SSD kernels now run on rt_cuda's
#    stream) and test_gpu_golden per case (the executor's existing checks);
#  - test_gpu_graph per case (graphs on == off == goldens, see its header);
#  - test_gpu_graph --bench [2.7b]: decode ms/token, graphs on and off;
#  - with $GG_BIN/ssdc: bench/cli_gpu_check.sh (run and generate on --device cuda).
# One log, $OUT/graph_run.log; exits 1 when any step failed ('== name: exit N').
#   GG_BIN=dir/with/prebuilt/binaries OUT=/dir GG_BIG=1 tests/gpu_model/graph_run.sh
# GG_BIN: binaries built elsewhere with the full cmake tree (the device image
# may lack flex/bison); GG_BIG=1 adds the 2.7b-shaped timing.
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-/tmp/ssdc-gg-out}
BIN=${GG_BIN:?set GG_BIN to a folder with test_gpu_graph, test_gpu_golden, test_ops_gpu, test_ssd_gpu}
mkdir -p "$OUT"
export SSDC_CACHE_DIR=${SSDC_CACHE_DIR:-/tmp/ssdc-gg-cache}
. tests/gpu_model/cuda_env.sh
T=${GG_TIMEOUT:-150}
rc=0
LOG=$OUT/graph_run.log
: >"$LOG"
step() { # name, command...
  local name=$1 tmp
  shift
  tmp=$(mktemp)
  echo "==== $name: $*" >>"$LOG"
  timeout "$T" "$@" 2>&1 | tee "$tmp" >>"$LOG" # the log grows as it runs
  local r=${PIPESTATUS[0]}
  echo "== $name: exit $r" >>"$LOG"
  tail -"${GG_TAIL:-12}" "$tmp"
  echo "== $name: exit $r"
  rm -f "$tmp"
  [ $r = 0 ] || rc=1
}
for c in mamba2_g1 mamba2_g2 mamba2_variants mamba1 bamba; do
  GG_TAIL=20 step "graph_$c" "$BIN/test_gpu_graph" tests/golden/$c
done
step bench_130m "$BIN/test_gpu_graph" --bench
[ "${GG_BIG:-0}" = 1 ] && step bench_2.7b "$BIN/test_gpu_graph" --bench 2.7b
for c in mamba2_g1 mamba2_g2 mamba2_variants mamba1 bamba; do
  GG_TAIL=2 step "golden_$c" "$BIN/test_gpu_golden" tests/golden/$c
done
[ -x "$BIN/ssdc" ] && GG_TAIL=10 step cli env SSDC="$BIN/ssdc" bench/cli_gpu_check.sh
GG_TAIL=2 step ops_gpu "$BIN/test_ops_gpu"
GG_TAIL=2 step ssd_gpu "$BIN/test_ssd_gpu"
exit $rc
