# Session 22 call 4: how much of the chunked kernel is its copies?  Variants
# of the generated 2.7b source (timing only, wrong results): k_nol loads x, B
# and C for a segment's first chunk only (every later chunk reuses them),
# k_nobc does so for B and C only, k_nox for x only; k the source as
# generated; nop1 without phase 1.  bench/ssd_phase_prof.cu, built locally.
O=$OUT; nvidia-smi -L; date -u
P=.prebuilt/probes
for r in 1 2; do
  for s in "8 2048 32" "1 16384 18" "1 1024 4"; do
    for v in k k_nol k_nobc k_nox nop1; do echo -n "r$r "; timeout 30 $P/$v $s | head -1; done
  done
done 2>&1 | tee $O/kvar.txt
