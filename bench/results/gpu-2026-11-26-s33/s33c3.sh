# Session 33, call 3: are the policies chosen before the conv fold still the best with it?  The
# 2.7b prefill (1x2K, 8x2K, 1x16K) under the default and three knobs, 2 rounds interleaved:
# g0 = SSDC_GNORM_FOLD=0 (no gated-norm fold at batch 1), g1 = SSDC_GNORM_FOLD=1 (the fold at every
# batch), wg = SSDC_SSD_WG=1 (the wgmma SSD kernel).
set -uo pipefail
T=$OUT; export SSDC_CACHE_DIR=/tmp/ssdc-cache
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv > $T/gpu.txt
M="--device cuda --model-file models/mamba2.ssd --dtype bf16 --set d_model=2560 --set n_layer=64 --prefill 1x2048,8x2048,1x16384 --decode-batch 1 --decode-tokens 8"
mkdir -p $T/v
for r in 1 2; do
  for v in def g0 g1 wg; do
    case $v in def) E="";; g0) E="SSDC_GNORM_FOLD=0";; g1) E="SSDC_GNORM_FOLD=1";; wg) E="SSDC_SSD_WG=1";; esac
    env $E timeout 150 .prebuilt/ssdc bench $M --out $T/v/$v-$r.json > $T/v/$v-$r.log 2>&1; echo "$v r$r rc $?"
  done
done
for v in def g0 g1 wg; do
  printf "%-4s" $v; for r in 1 2; do grep -h "^prefill" $T/v/$v-$r.log | awk '{printf " %s", $3}'; printf " |"; done; echo
done
tar czf $T/v.tgz -C $T v && rm -rf $T/v
exit 0
