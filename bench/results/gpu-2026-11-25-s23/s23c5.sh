# Session 23, call 5: phase 1 as its own launch (bench/p1_probe.cu) with its tiles brought by bulk
# copies (P1_BULK: cp.async.bulk, one a row, an mbarrier a stage: the copies leave the LSU) at 2, 3
# and 4 stages, beside the cp.async probe (2 stages).  Same states as the chunked kernel's?
set -uo pipefail
T=$OUT
nvidia-smi --query-gpu=name,clocks.max.sm --format=csv,noheader > $T/gpu.txt
for r in 1 2; do for v in s2 s2b s3b s4b; do for shape in "1 16384 18" "1 8192 12" "2 8192 16"; do
  echo "r$r $v $(timeout 30 .prebuilt/probes/p1_$v $shape; echo "rc $?")"
done; done; done 2>&1 | tee $T/p1.txt
