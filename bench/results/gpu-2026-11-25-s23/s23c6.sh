# Session 23, call 6: phase 1 as its own launch (bench/p1_probe.cu) with its tiles brought by tensor
# copies (P1_TMA: one 64x64 box of x and two of B a chunk, issued by one thread, 128-byte swizzle,
# dense tiles) at 2 and 4 stages, beside the cp.async probe and its no-copy bound.
set -uo pipefail
T=$OUT
nvidia-smi --query-gpu=name,clocks.max.sm --format=csv,noheader > $T/gpu.txt
for r in 1 2; do for v in s2 s2t s4t s2n; do for shape in "1 16384 18" "1 8192 12" "2 8192 16"; do
  echo "r$r $v $(timeout 30 .prebuilt/probes/p1_$v $shape; echo "rc $?")"
done; done; done 2>&1 | tee $T/p1.txt
