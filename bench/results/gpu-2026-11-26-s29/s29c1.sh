# Session 29, call 1: (1) ssdc's own GEMM on every linear it fits ($SSDC_OWN_GEMM=1: in_proj bf16 out,
# out_proj adding into the residual) in the 2.7b prefill beside cuBLASLt, per-linear device time
# ($SSDC_PROFILE=1, the fold off so that both runs have the same plan) at 8x2K and 1x16K;
# (2) test_gpu_graph --fused plans (gw_check on the H100) and test_ssd_gpu on the SSD kernels with
# ssd_publishes_early; (3) A/B of the whole 2.7b prefill, A = HEAD's build (0201994), B = this tree
# (the predicate changes every SSD cubin), 2 rounds.
set -uo pipefail
T=$OUT; export SSDC_CACHE_DIR=/tmp/ssdc-cache
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv > $T/gpu.txt
timeout 200 .prebuilt/test_gpu_graph --fused plans > $T/plans.log 2>&1; echo "plans rc $?"
grep -E "own GEMM|FAIL|passed" $T/plans.log | tail -8
timeout 150 .prebuilt/test_ssd_gpu > $T/ssd.log 2>&1; echo "test_ssd_gpu rc $?"; grep -E "FAIL|passed" $T/ssd.log | tail -4
prof() { # name env...
  local n=$1; shift
  env "$@" SSDC_GNORM_FOLD=0 SSDC_PROFILE=1 timeout 120 .prebuilt/ssdc bench --device cuda --model-file models/mamba2.ssd \
    --dtype bf16 --set d_model=2560 --set n_layer=64 --prefill 8x2048,1x16384 --decode-batch 1 --decode-tokens 2 \
    --out $T/b-$n.json > $T/prof-$n.log 2>&1; echo "$n rc $?"
}
prof lt SSDC_OWN_GEMM=0
prof gw SSDC_OWN_GEMM=1
for n in lt gw; do echo "== $n"; grep -E "^ssdc profile|^  (linear|ssm) " $T/prof-$n.log | head -12; done
A=.prebuilt/ssdc-head B=.prebuilt/ssdc ONLY='^2.7b-pre$' OUT=$T/ab timeout 330 bash bench/ab_gpu.sh 2 > $T/ab.out 2>&1
echo "ab rc $?"; tail -8 $T/ab.out
tar -czf $T/ab.tgz -C $T ab && rm -rf $T/ab
