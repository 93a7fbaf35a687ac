# Session 33, call 8: which PDL launch made call 5's b slower?  One build (branch s33-pdl, its one commit:
# d12b814 with pdl_wait/pdl_trigger at the top of the norm, the own GEMM (after its barrier init),
# the edge kernel and the SSD kernel's ticket) whose launches take the PDL attribute by
# SSDC_PDL_X: 0 (none), g (the own GEMM), e (the edge kernel), s (the SSD kernel), r (the norm).
# 2 rounds interleaved, 8x2K and 1x16K.
set -uo pipefail
T=$OUT; export SSDC_CACHE_DIR=/tmp/ssdc-cache
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv > $T/gpu.txt
M="--device cuda --model-file models/mamba2.ssd --dtype bf16 --set d_model=2560 --set n_layer=64 --prefill 8x2048,1x16384 --decode-batch 1 --decode-tokens 2"
mkdir -p $T/v
for r in 1 2; do
  for v in 0 g e s r; do
    SSDC_PDL_X=$v timeout 120 .prebuilt/ssdc-x bench $M --out $T/v/$v-$r.json > $T/v/$v-$r.log 2>&1; echo "$v r$r rc $?"
  done
done
for v in 0 g e s r; do
  printf "%-5s" $v; for r in 1 2; do grep -h "^prefill" $T/v/$v-$r.log | awk '{printf " %s", $3}'; printf " |"; done; echo
done
tar czf $T/v.tgz -C $T v && rm -rf $T/v
exit 0
