# Session 23, call 4: phase 1 as its own launch (bench/p1_probe.cu) with 2, 3 or 4 chunks of x and B
# in flight (P1_STAGES; 3 and 4 run two blocks an SM, 2 four), and the no-copy bound (P1_NOLOAD).
# Does a deeper cp.async pipeline reach the no-copy time, or is it the copy path itself?
set -uo pipefail
T=$OUT
nvidia-smi --query-gpu=name,clocks.max.sm --format=csv,noheader > $T/gpu.txt
for r in 1 2; do for v in s2 s3 s4 s2n s4n; do for shape in "1 16384 18" "1 16384 27" "1 8192 12" "2 8192 16"; do
  echo "r$r $v $(.prebuilt/probes/p1_$v $shape)"
done; done; done 2>&1 | tee $T/p1.txt
