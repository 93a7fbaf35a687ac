# Session 22 call 6: phase 3 skips the state update after a block's last chunk
# unless it is the sequence's final state (ssd_chunked.cuh).  Generated 2.7b
# source before (k, k_basei with init) and after (k_skip, k_skipi), with the
# final state (hashes must agree pairwise) and without it (k_nf / k_skip_nf,
# where every block skips; y only is defined there).  3 rounds, interleaved.
O=$OUT; nvidia-smi -L; date -u
P=.prebuilt/probes
for r in 1 2 3; do
  for s in "1 1024 4" "1 2048 8" "1 512 3" "1 16384 18" "1 8192 16" "8 2048 32"; do
    for v in k k_skip k_basei k_skipi k_nf k_skip_nf; do echo -n "r$r "; timeout 30 $P/$v $s | head -2 | tr '\n' ' '; echo; done
  done
done 2>&1 | sed -e 's/ per launch//' -e 's/, smem 71436)//' | tee $O/skip.txt
