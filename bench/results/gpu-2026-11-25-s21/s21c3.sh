# Session 21 call 3: phase 1 two chunks per iteration (p1x2.py on gen_ssd.c's
# 2.7b source) against the committed kernel (k0), the SSD kernel alone
# (bench/ssd_phase_prof.cu, which now prints a hash of y and the final
# state: equal hashes = bitwise equal results), 3 rounds over segment lengths.
O=$OUT; nvidia-smi -L; date -u
P=.prebuilt/probes
for r in 1 2 3; do
  for a in "1 16384 11" "1 16384 14" "1 16384 18" "1 16384 22" "1 16384 27" "1 8192 9" "1 8192 14" "1 32768 37" "2 8192 19" "8 2048 16" "8 2048 32"; do
    for k in k0 k0_p1x2; do echo -n "r$r $k "; timeout 30 $P/$k $a; done
  done
done 2>&1 | tee $O/p1x2.txt
