#!/usr/bin/env bash
# probes_build.sh: compile (not run) the standalone bench/ probes, most of
# which include ssdc's kernel templates from codegen/cuda or probe_util.cuh,
# so a change to a kernel's signature, macros or the shared helpers that
# breaks a probe fails a test instead of surfacing sessions later on the
# device (bench/gemm_probe.cu went three sessions without compiling:
# bench/NOTES.md, session 34).  Needs nvcc; without it, exit 77 (ctest: skip).
# The probes that compile generated kernel source (-DKSRC: p1_probe,
# overlap_probe, ssd_phase_prof) need ssdc's output first and are not built.
set -uo pipefail
cd "$(dirname "$0")/.."
NVCC=${NVCC:-$(command -v nvcc || true)}
[ -n "$NVCC" ] || { echo "probes_build: no nvcc, skipped"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
A="-std=c++17 -O1 -gencode arch=compute_90a,code=sm_90a -Icodegen/cuda"
fail=0
build() { # name, then nvcc arguments
  local n=$1
  shift
  if "$NVCC" $A "$@" -c -o "$tmp/$n.o" >"$tmp/$n.log" 2>&1; then
    echo "ok   $n"
  else
    echo "FAIL $n: nvcc $A $*"
    grep -m 10 -i "error" "$tmp/$n.log"
    fail=1
  fi
}
build gemm_probe_epi0 -DGW_EPI=0 bench/gemm_probe.cu
build gemm_probe_epi1 -DGW_EPI=1 bench/gemm_probe.cu
build wgmma_probe bench/wgmma_probe.cu
build sm_map_probe bench/sm_map_probe.cu
build corr_gnorm_probe bench/corr_gnorm_probe.cu
build corr_gnorm_probe_t32_fold -DCG_T=32 -DCG_FOLD=1 bench/corr_gnorm_probe.cu
build corr_gnorm_probe_v4 -DCG_V4=1 bench/corr_gnorm_probe.cu
build sync_micro bench/sync_micro.cu
build alpha_vec_probe bench/alpha_vec_probe.cu
exit $fail
