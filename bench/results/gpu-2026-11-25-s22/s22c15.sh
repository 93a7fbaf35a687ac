# Session 22 call 15: does the number of copy instructions set the chunked
# kernel's copy cost?  k = HEAD's generated 2.7b source (no init); k_c8 = every
# 16-byte cp.async of the tiles as two 8-byte ones (cp.async.ca: twice the
# instructions, the same bytes); k_ca = 16-byte copies through L1 (.ca
# instead of .cg), to tell the cache policy from the count.  Hashes must
# agree.  3 rounds, interleaved.
O=$OUT; nvidia-smi -L; date -u
P=.prebuilt/probes
for r in 1 2 3; do
  for s in "8 2048 32" "1 16384 18" "8 8192 128" "1 1024 4"; do
    for v in k k_c8 k_ca; do echo -n "r$r "; timeout 30 $P/$v $s | head -2 | tr '\n' ' '; echo; done
  done
done 2>&1 | sed -e 's/ per launch//' -e 's/, smem 71[0-9]*)//' | tee $O/c8.txt
