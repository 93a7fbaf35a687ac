# Session 32, call 5: the whole GPU suite on ba90d6b (bench/gpu.sh GPU_ONLY_TESTS=1), then the
# 2.7b prefill's device time per line at 8x2K and 1x16K with every linear the own GEMM fits on it
# (SSDC_OWN_GEMM=1: its plain bf16 in_proj and its out_proj adding into the residual, both now with
# the storers' epilogue), the conv fold off and on, against the default.
set -uo pipefail
T=$OUT; export SSDC_CACHE_DIR=/tmp/ssdc-cache
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv > $T/gpu.txt
GPU_ONLY_TESTS=1 SSDC_PREBUILT=$PWD/.prebuilt OUT=$T/suite timeout 400 bash bench/gpu.sh > $T/suite.out 2>&1
echo "gpu.sh rc $?"; grep -E "FAIL|passed|rc " $T/suite.out | tail -12
prof() { # name shapes env...
  local n=$1 sh=$2; shift 2
  env "$@" SSDC_PROFILE=1 timeout 100 .prebuilt/ssdc bench --device cuda --model-file models/mamba2.ssd \
    --dtype bf16 --set d_model=2560 --set n_layer=64 --prefill $sh --decode-batch 1 --decode-tokens 2 \
    --out $T/b-$n.json > $T/prof-$n.log 2>&1; echo "$n rc $?"
}
prof def8 8x2048
prof own8 8x2048 SSDC_OWN_GEMM=1
prof ownoff8 8x2048 SSDC_OWN_GEMM=1 SSDC_CONV_FOLD=0
prof def16 1x16384
prof own16 1x16384 SSDC_OWN_GEMM=1
for n in def8 own8 ownoff8 def16 own16; do echo "== $n"; awk '/forward/{c++} c==2' $T/prof-$n.log | grep -E "^ssdc profile|^  (linear|ssm|conv1d|gated_rmsnorm|add|rmsnorm) " | head -8; done
cd $T && tar czf logs.tgz prof-*.log b-*.json 2>/dev/null; rm -rf prof-*.log b-*.json
tar -czf $T/suite.tgz -C $T suite && rm -rf $T/suite
exit 0
