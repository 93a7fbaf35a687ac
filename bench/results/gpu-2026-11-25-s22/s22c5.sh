# Session 22 call 5: an L2 prefetch of the next chunk's x rows (ssd_prefetch_x
# in ssd_chunked.cuh): k_pf0 without, k_pf1 in phase 3 (issued at the start
# of each chunk for the next), k_pf2 in phase 1 as well (the next
# iteration's chunks).  Generated 2.7b source (gen_ssd.c, no init),
# bench/ssd_phase_prof.cu built locally; 3 rounds, variants interleaved; the
# output hashes must agree.
O=$OUT; nvidia-smi -L; date -u
P=.prebuilt/probes
for r in 1 2 3; do
  for s in "8 2048 32" "1 16384 18" "1 8192 16" "8 8192 128" "1 1024 4" "1 2048 8"; do
    for v in k_pf0 k_pf1 k_pf2; do echo -n "r$r "; timeout 30 $P/$v $s | head -2 | tr '\n' ' '; echo; done
  done
done 2>&1 | tee $O/pf.txt
