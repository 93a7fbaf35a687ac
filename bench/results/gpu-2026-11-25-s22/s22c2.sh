# Session 22 call 2: phase 1 as a launch of its own.  p1 = bench/p1_probe.cu
# on the generated 2.7b kernel (gen_ssd.c, model strides, no init): the
# state-only kernel's time, the chunked kernel's (same launch), and segment
# 0's states compared bit for bit; k / nop1 = bench/ssd_phase_prof.cu on the
# same source and on it with phase 1 removed (session 21's nop1.py: wrong
# results, time only).  Built locally (nvcc 13.0), carried in .prebuilt.
O=$OUT; nvidia-smi -L; date -u
P=.prebuilt/probes
for r in 1 2 3; do
  for s in "1 16384 18" "1 16384 27" "1 16384 12" "1 16384 9" "1 8192 16" "1 8192 8" "1 32768 18" "1 32768 36" "8 2048 16" "8 2048 8" "1 1024 4" "1 2048 8"; do
    echo "r$r $s"; timeout 30 $P/p1 $s; timeout 30 $P/k $s | head -1; timeout 30 $P/nop1 $s | head -1
  done
done 2>&1 | tee $O/p1.txt
