# Session 33, call 9: call 8 found the own GEMM launched with PDL (SSDC_PDL_X=g) +4.3% slower over the
# whole prefill, the other PDL launches neutral.  If that is where the GEMM's blocks land (PDL places
# them as the norm's blocks drain, so blockIdx -> SM changes), a tile walk keyed by the SM (%smid,
# GW_MAP=1, branch s33-pdl) should make the two launches alike.  Four variants, 2 rounds.
set -uo pipefail
T=$OUT; export SSDC_CACHE_DIR=/tmp/ssdc-cache
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv > $T/gpu.txt
for m in 0 1; do GW_MAP=$m timeout 150 .prebuilt/test_ops_gpu-x --bench-gw > $T/bgw-$m.log 2>&1; echo "bench-gw map $m rc $?"; grep -iE "own|cublas" $T/bgw-$m.log | head -6; done
M="--device cuda --model-file models/mamba2.ssd --dtype bf16 --set d_model=2560 --set n_layer=64 --prefill 8x2048,1x16384 --decode-batch 1 --decode-tokens 2"
mkdir -p $T/v
for r in 1 2; do
  for v in m0 m0g m1 m1g; do
    case $v in m0) E="GW_MAP=0 SSDC_PDL_X=0";; m0g) E="GW_MAP=0 SSDC_PDL_X=g";; m1) E="GW_MAP=1 SSDC_PDL_X=0";; m1g) E="GW_MAP=1 SSDC_PDL_X=g";; esac
    env $E timeout 120 .prebuilt/ssdc-x bench $M --out $T/v/$v-$r.json > $T/v/$v-$r.log 2>&1; echo "$v r$r rc $?"
  done
done
for v in m0 m0g m1 m1g; do
  printf "%-5s" $v; for r in 1 2; do grep -h "^prefill" $T/v/$v-$r.log | awk '{printf " %s", $3}'; printf " |"; done; echo
done
tar czf $T/v.tgz -C $T v bgw-0.log bgw-1.log && rm -rf $T/v
exit 0
